"""The console's overview: ``GET /admin`` (counts of open tickets, unanswered questions,
feedback and procedures) and the read-only lists ``GET /api/admin/unanswered`` and
``GET /api/admin/feedback`` (editor or admin)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from bot import inbox
from bot.console.deps import CurrentSession, EditorDep, console_router
from bot.console.pages import page
from bot.deps import StateDep
from knowledge import catalogue_store

router = console_router(tags=["console"])


@router.get("/admin", response_class=HTMLResponse)
async def dashboard(request: Request, state: StateDep, session: CurrentSession) -> Response:
    counts, procedures = await asyncio.gather(
        asyncio.to_thread(inbox.overview_counts, state.engine),
        asyncio.to_thread(catalogue_store.count, state.engine),
    )
    return page(
        request, "dashboard.html", session, {"counts": counts, "procedures": procedures}, active="home"
    )


@router.get("/api/admin/unanswered")
async def list_unanswered(state: StateDep, _operator: EditorDep) -> list[dict[str, Any]]:
    return await asyncio.to_thread(inbox.list_unanswered, state.engine)


@router.get("/api/admin/feedback")
async def list_feedback(state: StateDep, _operator: EditorDep) -> list[dict[str, Any]]:
    return await asyncio.to_thread(inbox.list_feedback, state.engine)
