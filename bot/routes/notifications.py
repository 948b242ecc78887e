"""GET /api/notifications: dossier status changes recorded for this web session since its
last visit (each shown once). The session token goes in the ``X-Session-Token`` header
(kept out of URLs and access logs); ``?session=<token>`` still works."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from bot.deps import StateDep
from bot.portal.subscriptions import take_pending

router = APIRouter(tags=["notifications"])


@router.get("/api/notifications")
async def pending_notifications(
    state: StateDep,
    session: str | None = Query(None, max_length=200),
    x_session_token: str | None = Header(None, max_length=200),
) -> Any:
    sender_id = state.tokens.sender_id(x_session_token or session)
    if sender_id is None:
        return JSONResponse(
            {"error": "invalid_session", "message": "Phiên trò chuyện không hợp lệ hoặc đã hết hạn."},
            status_code=401,
        )
    items = await asyncio.to_thread(take_pending, state.engine, sender_id)
    return {"notifications": items}
