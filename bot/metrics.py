"""Prometheus metrics of the gateway and of the action server, and the request id
middleware that every turn's logs share.

Gateway families (``GET /metrics``):

- ``congdan_http_request_duration_seconds{route,method,status}``: latency by route
  template (unmatched paths count as ``route="other"``, so scanners cannot blow up the
  label set);
- ``congdan_turns_total{channel,decision}``: citizen turns by channel (``web``, ``zalo``,
  ``other``) and what the gateway decided: ``answered`` (Rasa answered),
  ``rasa_unavailable`` (Rasa away: the polite "busy" answer), ``no_answer`` (Rasa said
  nothing, a custom action failed: the same answer), ``empty``, ``too_long``;
- ``congdan_rasa_request_duration_seconds{outcome}``: one REST-channel round trip;
- ``congdan_portal_breaker`` (an enum: ``closed``, ``opened``, ``half-opened``,
  ``disabled``), ``congdan_outbox_backlog`` (rows waiting to be sent) and
  ``congdan_index_info{version}``: read when scraped;
- the action server's own families (``congdan_action_duration_seconds{action,outcome}``),
  fetched from its ``/metrics`` and appended, so one scrape sees the whole turn.

``/metrics`` answers loopback clients; any other client needs
``Authorization: Bearer <CONGDAN_METRICS_TOKEN>`` (403 without it), and when no token is
configured the route does not exist for them (404): never public by default.

The request id: ``X-Request-ID`` from the client when it is a short token, else a new
one; bound for the request's logs (``bot.logs.request_id``), sent to Rasa in the REST
message's metadata (the action server reads it from the tracker's latest message) and
returned in the response header.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import re
import time
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.logs import request_id
from bot.settings import Settings

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BREAKER_STATES = ["closed", "opened", "half-opened", "disabled"]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
REQUEST_ID_HEADER = "x-request-id"

HTTP_LATENCY = Histogram(
    "congdan_http_request_duration_seconds",
    "Gateway request latency by route template.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
TURNS = Counter(
    "congdan_turns_total", "Citizen turns by channel and the gateway's decision.", ["channel", "decision"]
)
RASA_LATENCY = Histogram(
    "congdan_rasa_request_duration_seconds",
    "One round trip to Rasa's REST channel.",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
PORTAL_BREAKER = Enum(
    "congdan_portal_breaker", "The gateway's portal circuit breaker.", states=BREAKER_STATES
)
OUTBOX_BACKLOG = Gauge("congdan_outbox_backlog", "Outbox rows waiting to be sent (state pending).")
INDEX = Info("congdan_index", "The published search index in use.")

# The action server's families live in their own registry: appended to the gateway's
# exposition, they must not repeat the default process/platform families.
ACTION_REGISTRY = CollectorRegistry(auto_describe=True)
ACTION_LATENCY = Histogram(
    "congdan_action_duration_seconds",
    "Custom action run time in the action server, by action.",
    ["action", "outcome"],
    buckets=LATENCY_BUCKETS,
    registry=ACTION_REGISTRY,
)


def channel_of(sender_id: str) -> str:
    prefix = sender_id.split(":", 1)[0] if ":" in sender_id else ""
    return prefix if prefix in ("web", "zalo") else "other"


def count_turn(sender_id: str, decision: str) -> None:
    TURNS.labels(channel=channel_of(sender_id), decision=decision).inc()


def observe_rasa(seconds: float, ok: bool) -> None:
    RASA_LATENCY.labels(outcome="ok" if ok else "error").observe(seconds)


def observe_action(action: str, seconds: float, ok: bool) -> None:
    ACTION_LATENCY.labels(action=action or "unknown", outcome="ok" if ok else "error").observe(seconds)


def valid_request_id(value: str | None) -> str | None:
    return value if value and _REQUEST_ID.match(value) else None


# -- the request observer (ASGI middleware) ---------------------------------------------


def _route_of(scope: Scope) -> str:
    """The matched route's path template (``/api/admin/procedures/{id}``), or ``other``.
    FastAPI's router records the matched route in the request's scope."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "other"


class RequestObserver:
    """Binds a request id for the request's logs and times every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = valid_request_id(headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1"))
        rid = incoming or request_id.new()
        token = request_id.bind(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER.encode(), rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            HTTP_LATENCY.labels(route=_route_of(scope), method=scope["method"], status=str(status)).observe(
                time.perf_counter() - started
            )
            request_id.reset(token)


# -- the /metrics route ------------------------------------------------------------------


def is_loopback(host: str | None) -> bool:
    try:
        return bool(host) and ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return host == "localhost"


def allowed(settings: Settings, client_host: str | None, authorization: str | None) -> int:
    """200 when this client may read the metrics, else the status to answer."""
    if is_loopback(client_host):
        return 200
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if not token:
        return 404
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return 200
    return 403


def _outbox_backlog(engine: Any) -> int | None:
    from knowledge.db import outbox

    try:
        with engine.connect() as connection:
            query = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.state == "pending")
            return int(connection.execute(query).scalar_one())
    except SQLAlchemyError as error:
        log.warning("metrics: outbox backlog unreadable (%s)", type(error).__name__)
        return None


async def refresh_gauges(request: Request) -> None:
    """The values read at scrape time: breaker, outbox backlog, index version."""
    from bot.routes.health import portal_breaker_state
    from knowledge.index import current_version

    state = request.app.state.congdan
    PORTAL_BREAKER.state(await portal_breaker_state(request))
    backlog = await asyncio.to_thread(_outbox_backlog, state.engine)
    if backlog is not None:
        OUTBOX_BACKLOG.set(backlog)
    version = await asyncio.to_thread(current_version, state.settings.index_root)
    INDEX.info({"version": version or "none"})


async def action_server_metrics(settings: Settings) -> bytes:
    """The action server's exposition (empty when it does not answer)."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    headers = {"Authorization": f"Bearer {token}"} if token else {}  # across a container network
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            response = await client.get(f"{settings.actions_url}/metrics", headers=headers)
    except httpx.HTTPError:
        return b""
    return response.content if response.status_code == 200 else b""


router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.congdan.settings
    status = allowed(
        settings, request.client.host if request.client else None, request.headers.get("authorization")
    )
    if status == 404:
        return JSONResponse({"error": "not_found", "message": "Not Found"}, status_code=404)
    if status == 403:
        return JSONResponse(
            {"error": "forbidden", "message": "Cần mã truy cập số liệu (CONGDAN_METRICS_TOKEN)."},
            status_code=403,
        )
    await refresh_gauges(request)
    body = generate_latest(REGISTRY) + await action_server_metrics(settings)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


# -- the action server's side (Sanic) --------------------------------------------------


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def instrument_action_server(app: Any, settings: Settings) -> None:
    """Time each ``/webhook`` call by action, bind the turn's request id (from the
    tracker's latest message metadata) for its logs, and serve ``/metrics`` with the same
    access rule as the gateway. ``app`` is rasa-sdk's Sanic app."""
    from sanic import response as sanic_response

    async def before(request: Any) -> None:
        if request.path != "/webhook":
            return
        try:
            body = request.json
        except Exception:  # a malformed body is rasa-sdk's to refuse, not ours
            body = None
        metadata = _mapping(_mapping(_mapping(body).get("tracker")).get("latest_message")).get("metadata")
        rid = valid_request_id(_mapping(metadata).get("request_id")) or request_id.new()
        request.ctx.request_id_token = request_id.bind(rid)
        request.ctx.action = str(_mapping(body).get("next_action") or "unknown")
        request.ctx.started = time.perf_counter()

    async def after(request: Any, response: Any) -> None:
        started = getattr(request.ctx, "started", None)
        if started is None:
            return
        seconds = time.perf_counter() - started
        observe_action(request.ctx.action, seconds, response.status < 400)
        log.info("%s → %d in %.0f ms", request.ctx.action, response.status, seconds * 1000)
        response.headers[REQUEST_ID_HEADER] = request_id.get()
        request_id.reset(request.ctx.request_id_token)

    async def metrics_route(request: Any) -> Any:
        status = allowed(settings, request.ip, request.headers.get("authorization"))
        if status != 200:
            return sanic_response.json({"error": "forbidden" if status == 403 else "not_found"}, status)
        return sanic_response.raw(generate_latest(ACTION_REGISTRY), content_type=CONTENT_TYPE_LATEST)

    app.register_middleware(before, "request")
    app.register_middleware(after, "response")
    app.add_route(metrics_route, "/metrics", methods=["GET"], name="congdan_metrics")
