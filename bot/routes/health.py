"""Liveness and readiness."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bot.deps import AppState, StateDep
from bot.rasa_client import RasaUnavailable
from knowledge.search import IndexNotReady

router = APIRouter(tags=["health"])
READINESS_SENDER = "probe:readiness"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _rasa_ready(state: AppState) -> bool:
    if not await state.rasa.channel_up():
        state.rasa_model_ok = False
        return False
    if not state.rasa_model_ok:
        # Once per Rasa start: a real turn proves a model is loaded and answering.
        try:
            state.rasa_model_ok = bool(await state.rasa.send(READINESS_SENDER, "/greet"))
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


def _index_ready(state: AppState) -> bool:
    try:
        state.searcher.index()
    except (IndexNotReady, OSError, ValueError):
        return False
    return True


@router.get("/readyz")
async def readyz(state: StateDep) -> JSONResponse:
    rasa, actions, index = await asyncio.gather(
        _rasa_ready(state), _actions_ready(state), asyncio.to_thread(_index_ready, state)
    )
    checks = {"rasa_model": rasa, "action_server": actions, "index": index}
    not_ready = [name for name, ok in checks.items() if not ok]
    return JSONResponse(
        {"status": "ready" if not not_ready else "not_ready", "checks": checks, "not_ready": not_ready},
        status_code=200 if not not_ready else 503,
    )
