"""Liveness (``/healthz``) and readiness (``/readyz``).

``/readyz`` answers 200 only when every part a citizen's turn needs works:

- ``rasa_model``: Rasa runs without ``--enable-api`` (no ``/status``, no ``/model/parse``),
  so the check is a real turn through the REST channel: the text ``xin chào`` (not a
  ``/greet`` payload, which skips NLU) to the dedicated sender ``probe:readiness``; a
  non-empty answer proves the NLU pipeline and the policies ran. It is sent once per Rasa
  start (the cheap ``GET /webhooks/rest/`` notices a restart), so that conversation's
  tracker grows by one turn per restart only;
- ``action_server``: its ``/health``;
- ``database``: ``SELECT 1``;
- ``redis``: ``PING``, only when ``CONGDAN_REDIS_URL`` is set;
- ``index``: a published index loads.

The gateway's portal circuit breaker (the notifier's client) is reported as
``portal_breaker`` but does not make the gateway unready: dossier questions get a polite
"portal busy" answer while it is open, everything else works.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.deps import AppState, StateDep
from bot.rasa_client import RasaUnavailable
from knowledge.search import IndexNotReady

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
READINESS_SENDER = "probe:readiness"
READINESS_TEXT = "xin chào"  # goes through the NLU pipeline, unlike a "/greet" payload
CHECK_TIMEOUT_S = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _rasa_ready(state: AppState) -> bool:
    if not await state.rasa.channel_up():
        state.rasa_model_ok = False
        return False
    if not state.rasa_model_ok:
        # Once per Rasa start: a real turn proves a model is loaded and NLU answers.
        try:
            state.rasa_model_ok = bool(await state.rasa.send(READINESS_SENDER, READINESS_TEXT))
        except RasaUnavailable:
            return False
    return state.rasa_model_ok


async def _actions_ready(state: AppState) -> bool:
    try:
        async with httpx.AsyncClient(timeout=1.5) as client:
            response = await client.get(f"{state.settings.actions_url}/health")
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _database_ready(state: AppState) -> bool:
    try:
        with state.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as error:
        log.warning("readiness: database unavailable (%s)", type(error).__name__)
        return False
    return True


async def _redis_ready(url: str) -> bool:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        return bool(await client.ping())
    except (RedisError, OSError) as error:
        log.warning("readiness: Redis unavailable (%s)", type(error).__name__)
        return False
    finally:
        await client.aclose()


def _index_ready(state: AppState) -> bool:
    try:
        state.searcher.index()
    except (IndexNotReady, OSError, ValueError):
        return False
    return True


async def _bounded(check: asyncio.Future[bool] | asyncio.Task[bool]) -> bool:
    """A check that does not answer within CHECK_TIMEOUT_S counts as not ready."""
    try:
        return await asyncio.wait_for(check, CHECK_TIMEOUT_S + 1.0)
    except TimeoutError:
        return False


async def portal_breaker_state(request: Request) -> str:
    """``closed``, ``opened``, ``half-opened``, or ``disabled`` when the gateway has no
    portal client (notifier off)."""
    notifier = getattr(request.app.state, "notifier", None)
    client = getattr(notifier, "client", None)
    breaker_state = getattr(client, "breaker_state", None)
    if breaker_state is None:
        return "disabled"
    return str(await breaker_state())


@router.get("/readyz")
async def readyz(request: Request, state: StateDep) -> JSONResponse:
    checks_to_run = {
        "rasa_model": asyncio.ensure_future(_rasa_ready(state)),
        "action_server": asyncio.ensure_future(_actions_ready(state)),
        "database": asyncio.ensure_future(asyncio.to_thread(_database_ready, state)),
        "index": asyncio.ensure_future(asyncio.to_thread(_index_ready, state)),
    }
    if state.settings.redis_url:
        checks_to_run["redis"] = asyncio.ensure_future(_redis_ready(state.settings.redis_url))
    results = await asyncio.gather(*(_bounded(task) for task in checks_to_run.values()))
    checks = dict(zip(checks_to_run, results, strict=True))
    not_ready = [name for name, ok in checks.items() if not ok]
    return JSONResponse(
        {
            "status": "ready" if not not_ready else "not_ready",
            "checks": checks,
            "not_ready": not_ready,
            "portal_breaker": await portal_breaker_state(request),
        },
        status_code=200 if not not_ready else 503,
    )
