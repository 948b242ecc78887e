"""The audit log for admins: ``GET /api/admin/audit[?action=&actor=&limit=&before=]``
(newest first) and the page ``/admin/audit``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from bot.console import audit
from bot.console.deps import AdminDep, CurrentSession, console_router
from bot.console.pages import page
from bot.deps import StateDep

router = console_router(tags=["console"])

ActionQuery = Annotated[str | None, Query(max_length=64)]
ActorQuery = Annotated[str | None, Query(max_length=120)]


@router.get("/api/admin/audit")
async def audit_entries(
    state: StateDep,
    _admin: AdminDep,
    action: ActionQuery = None,
    actor: ActorQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> list[dict[str, Any]]:
    return await asyncio.to_thread(
        audit.entries, state.engine, limit=limit, before_id=before, actor=actor, action=action
    )


@router.get("/admin/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    state: StateDep,
    session: CurrentSession,
    _admin: AdminDep,
    action: ActionQuery = None,
    actor: ActorQuery = None,
) -> Response:
    rows = await asyncio.to_thread(audit.entries, state.engine, limit=300, actor=actor, action=action)
    return page(
        request,
        "audit.html",
        session,
        {"entries": rows, "action": action or "", "actor": actor or ""},
        active="audit",
    )
