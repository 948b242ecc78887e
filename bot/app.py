"""The gateway: FastAPI app factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.body_limit import BodyLimit
from bot.channels.zalo import start_zalo
from bot.console.routes import catalogue as console_catalogue
from bot.console.routes.dossiers import router as dossier_unlock_router
from bot.console.setup import install as install_console
from bot.conversation import ConversationService
from bot.cors import EmbeddingCORS
from bot.deps import AppState
from bot.logs import ensure_masked_logging
from bot.lookup_limit import LookupLimit
from bot.metrics import RequestObserver
from bot.metrics import router as metrics_router
from bot.portal.notifier import start_notifier
from bot.privacy import start_daily_purge
from bot.rasa_client import RasaClient
from bot.ratelimit import RateLimiter
from bot.routes import chat, health, notifications, search, widget, zalo
from bot.routes.privacy import router as privacy_router
from bot.sessions import SessionTokens, load_or_create_secret
from bot.settings import Settings, get_settings
from bot.texts import text
from knowledge.db import create_db_engine
from knowledge.encoders import create_encoder
from knowledge.search import Searcher

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def _security_headers(response: Response, path: str, hsts: bool = False) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if hsts:  # the public URL is https: browsers never try plain http again
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.headers.get("content-type", "").startswith("text/html"):
        frame = "'none'" if path.startswith("/admin") else "'self'"
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            f"script-src 'self'; connect-src 'self'; frame-ancestors {frame}; base-uri 'none'; "
            "form-action 'self'",
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    config = settings or get_settings()
    ensure_masked_logging(config.log_level, config.log_json)  # also under a plain `uvicorn` start
    secret = load_or_create_secret(
        config.session_secret.get_secret_value() if config.session_secret else None, config.var_dir
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rasa = RasaClient(config.rasa_url, config.rasa_timeout_s)
        engine = create_db_engine(config.sqlalchemy_url)
        state = AppState(
            settings=config,
            rasa=rasa,
            searcher=Searcher(
                config.index_root,
                encoder_factory=lambda: create_encoder(config.encoder, config.encoder_model_path),
            ),
            engine=engine,
            tokens=SessionTokens(secret),
            conversation=ConversationService(config, rasa, engine),
        )
        app.state.congdan = state
        app.state.zalo = start_zalo(config, state.engine, state.conversation)
        zalo_runtime = app.state.zalo
        notifier = start_notifier(
            config,
            state.engine,
            after_pass=[zalo_runtime.forward_notifications] if zalo_runtime.channel else [],
        )
        app.state.notifier = notifier  # /readyz and /metrics report its portal breaker
        purger = start_daily_purge(config, state.engine)  # the retention period, applied daily
        try:
            yield
        finally:
            await purger.stop()
            await notifier.stop()
            await app.state.zalo.aclose()
            await state.rasa.aclose()
            state.engine.dispose()

    docs = config.docs_enabled  # /docs, /redoc and /openapi.json only when a setting asks for them
    app = FastAPI(
        title="Trợ lý Dịch vụ công",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    hsts = (config.public_url or "").startswith("https://")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "body", "problem": e.get("msg", "")}
            for e in error.errors()
        ]
        return JSONResponse(
            {"error": "invalid_request", "message": text("bad_request"), "problems": problems},
            status_code=422,
        )

    def _error_code(status: int) -> str:
        """A machine-readable code from the status: 404 → "not_found", 429 → "too_many_requests"."""
        try:
            return HTTPStatus(status).name.lower()
        except ValueError:
            return "http_error"

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = text("bad_request") if error.status_code == 400 else str(error.detail)
        return JSONResponse(
            {"error": _error_code(error.status_code), "message": message},
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse(
            {"error": "internal_error", "message": "Đã có lỗi, Anh/Chị vui lòng thử lại sau."},
            status_code=500,
        )

    @app.middleware("http")
    async def _headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        _security_headers(response, request.url.path, hsts)
        return response

    routers = (health, chat, search, widget, zalo, notifications)
    for module in routers:
        app.include_router(module.router)
    app.include_router(privacy_router)
    app.include_router(dossier_unlock_router)
    install_console(app, config, secret)
    app.include_router(console_catalogue.router)  # catalogue editing and publishing
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.rate_limiter = RateLimiter.from_settings(config)
    lookups = RateLimiter({"lookup": config.rate_limit_lookup}, config.redis_url, "congdan:lookup")
    app.add_middleware(LookupLimit, limiter=lookups, hotline=config.hotline)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes, large_max_bytes=config.max_import_bytes)
    app.add_middleware(EmbeddingCORS, allow_origins=config.allowed_origin_list)
    app.include_router(metrics_router)
    app.add_middleware(RequestObserver)  # outermost: request id and latency of every request
    return app
