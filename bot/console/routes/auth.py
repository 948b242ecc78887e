"""Signing in and out of the console.

``GET /admin/login``: the form (``username``, ``password``, hidden ``csrf`` — a signed
double-submit token, the nonce in a cookie). ``POST /admin/login``: 303 to ``/admin`` with
the session cookie; a wrong password 401; a missing/forged form token 403; too many
failures for a name (or an address) 429 with a Vietnamese message. Every attempt is
audited. ``POST /admin/logout`` ends the session. ``GET /api/admin/session`` →
``{"operator", "role", "csrf"}``.
"""

from __future__ import annotations

import asyncio
import math
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.console import accounts, audit, sessions
from bot.console.deps import CurrentSession, RuntimeDep, console_router
from bot.console.pages import page
from bot.console.runtime import LOGIN_COOKIE
from bot.console.texts import text
from bot.deps import StateDep
from bot.ratelimit import client_address

public = APIRouter(tags=["console"])  # the login form is the one console route without a session
router = console_router(tags=["console"])


def _login_form(
    request: Request, runtime: RuntimeDep, error: str | None = None, status_code: int = 200
) -> Response:
    nonce, token = runtime.new_login_token()
    response = page(
        request, "login.html", None, {"login_csrf": token, "error": error}, status_code=status_code
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=runtime.secure_cookies,
        path="/admin",
        max_age=3600,
    )
    return response


@public.get("/admin/login", response_class=HTMLResponse)
async def login_page(request: Request, runtime: RuntimeDep) -> Response:
    return _login_form(request, runtime)


@public.post("/admin/login")
async def login(
    request: Request,
    state: StateDep,
    runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=120)] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)] = "",
    csrf: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    if not runtime.login_token_ok(request.cookies.get(LOGIN_COOKIE), csrf):
        return _login_form(request, runtime, text("login_form_expired"), 403)
    address = client_address(request)
    wait_s = await runtime.throttle.blocked(username, address)
    if wait_s:
        response = _login_form(request, runtime, text("login_throttled", minutes=math.ceil(wait_s / 60)), 429)
        response.headers["Retry-After"] = str(wait_s)
        return response
    operator = await asyncio.to_thread(accounts.authenticate, state.engine, username, password)
    if operator is None:
        await runtime.throttle.failed(username, address)
        await asyncio.to_thread(
            audit.record, state.engine, username or "?", "login.failed", None, {"address": address}
        )
        return _login_form(request, runtime, text("login_failed"), 401)
    token, _csrf = await asyncio.to_thread(sessions.start, state.engine, operator.username, runtime.lifetime)
    await asyncio.to_thread(
        audit.record, state.engine, operator.username, "login.ok", None, {"address": address}
    )
    response = RedirectResponse("/admin", status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=runtime.secure_cookies,
        max_age=int(runtime.lifetime.total_seconds()),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/admin")
    return response


@router.post("/admin/logout")
async def logout(request: Request, state: StateDep, session: CurrentSession) -> Response:
    token = request.cookies.get(sessions.COOKIE, "")
    await asyncio.to_thread(sessions.end, state.engine, token)
    await asyncio.to_thread(audit.record, state.engine, session.operator.username, "logout")
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(sessions.COOKIE)
    return response


@router.get("/api/admin/session")
async def who_am_i(session: CurrentSession) -> dict[str, Any]:
    return {"operator": session.operator.username, "role": session.operator.role, "csrf": session.csrf}
