"""``install(app, settings, secret)``: everything the gateway needs for the console — its
routers, its static files under ``/admin/static`` (vendored htmx, no CDN), the no-store
middleware and the per-app runtime (login throttle, cookie policy)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.console.middleware import NoStoreForConsole
from bot.console.routes import admin, audit, auth, handoffs, operators
from bot.console.runtime import ConsoleRuntime
from bot.console.texts import HERE
from bot.settings import Settings


def install(app: FastAPI, settings: Settings, secret: str) -> None:
    app.state.console = ConsoleRuntime.from_settings(settings, secret)
    for router in (auth.public, auth.router, admin.router, audit.router, handoffs.router, operators.router):
        app.include_router(router)
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.add_middleware(NoStoreForConsole)
