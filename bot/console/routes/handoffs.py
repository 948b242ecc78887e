"""The handoff inbox (editor or admin).

JSON: ``GET /api/admin/handoffs[?status=open|closed]`` → tickets (code, channel, reason,
question, status, at, replies); ``GET /api/admin/handoffs/{code}`` → one ticket with its
``transcript`` (masked) and ``replies``; ``POST …/{code}/reply`` ``{"text"}`` → the stored
reply with its delivery state; ``POST …/{code}/close``. 404 for an unknown code, 409 for a
reply to a closed ticket, 422 for an empty or too long text.
Pages: ``/admin/handoffs`` and ``/admin/handoffs/{code}`` (reply and close forms).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, field_validator

from bot.console import handoffs
from bot.console.deps import CurrentSession, EditorDep, console_router
from bot.console.pages import page
from bot.console.texts import text
from bot.console.transcripts import transcript
from bot.deps import StateDep

router = console_router(tags=["console"])

Code = Annotated[str, Path(max_length=16, pattern=r"^HT-[0-9A-Fa-f]{6}$")]
StatusFilter = Annotated[Literal["open", "closed"] | None, Query()]


class ReplyIn(BaseModel):
    text: str = Field(max_length=handoffs.MAX_REPLY_CHARS)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(text("reply_empty"))
        return value.strip()


def _wake_outbox(request: Request) -> None:
    zalo = getattr(request.app.state, "zalo", None)
    if zalo is not None:
        zalo.worker.wake()


async def _ticket(state: StateDep, code: str) -> dict[str, Any]:
    try:
        ticket, sender_id = await asyncio.to_thread(handoffs.get_ticket, state.engine, code.upper())
    except handoffs.TicketNotFound:
        raise HTTPException(status_code=404, detail=text("ticket_not_found", code=code)) from None
    ticket["transcript"] = await asyncio.to_thread(transcript, state.settings, state.engine, sender_id)
    return ticket


async def _reply(request: Request, state: StateDep, code: str, author: str, said: str) -> dict[str, Any]:
    try:
        stored = await asyncio.to_thread(handoffs.reply, state.engine, code.upper(), author, said)
    except handoffs.TicketNotFound:
        raise HTTPException(status_code=404, detail=text("ticket_not_found", code=code)) from None
    except handoffs.TicketClosed:
        raise HTTPException(status_code=409, detail=text("ticket_closed", code=code)) from None
    _wake_outbox(request)
    return stored


async def _close(state: StateDep, code: str, author: str) -> dict[str, Any]:
    try:
        return await asyncio.to_thread(handoffs.close, state.engine, code.upper(), author)
    except handoffs.TicketNotFound:
        raise HTTPException(status_code=404, detail=text("ticket_not_found", code=code)) from None


@router.get("/api/admin/handoffs")
async def list_handoffs(
    state: StateDep, _operator: EditorDep, status: StatusFilter = None
) -> list[dict[str, Any]]:
    return await asyncio.to_thread(handoffs.list_tickets, state.engine, status)


@router.get("/api/admin/handoffs/{code}")
async def get_handoff(state: StateDep, _operator: EditorDep, code: Code) -> dict[str, Any]:
    return await _ticket(state, code)


@router.post("/api/admin/handoffs/{code}/reply")
async def reply_handoff(
    request: Request, state: StateDep, operator: EditorDep, code: Code, body: ReplyIn
) -> dict[str, Any]:
    return await _reply(request, state, code, operator.username, body.text)


@router.post("/api/admin/handoffs/{code}/close")
async def close_handoff(state: StateDep, operator: EditorDep, code: Code) -> dict[str, Any]:
    return await _close(state, code, operator.username)


# ---- pages -------------------------------------------------------------------------------


@router.get("/admin/handoffs", response_class=HTMLResponse)
async def handoffs_page(
    request: Request,
    state: StateDep,
    session: CurrentSession,
    _operator: EditorDep,
    status: StatusFilter = "open",
) -> Response:
    tickets = await asyncio.to_thread(handoffs.list_tickets, state.engine, status)
    return page(request, "handoffs.html", session, {"tickets": tickets, "status": status}, active="handoffs")


@router.get("/admin/handoffs/{code}", response_class=HTMLResponse)
async def handoff_page(
    request: Request, state: StateDep, session: CurrentSession, _operator: EditorDep, code: Code
) -> Response:
    ticket = await _ticket(state, code)
    sent = request.query_params.get("sent") == "1"
    return page(request, "handoff.html", session, {"ticket": ticket, "sent": sent}, active="handoffs")


@router.post("/admin/handoffs/{code}/reply")
async def reply_form(
    request: Request,
    state: StateDep,
    session: CurrentSession,
    operator: EditorDep,
    code: Code,
    said: Annotated[str, Form(alias="text", max_length=handoffs.MAX_REPLY_CHARS)] = "",
) -> Response:
    if not said.strip():
        ticket = await _ticket(state, code)
        context = {"ticket": ticket, "error": text("reply_empty")}
        return page(request, "handoff.html", session, context, active="handoffs", status_code=400)
    await _reply(request, state, code, operator.username, said)
    return RedirectResponse(f"/admin/handoffs/{code.upper()}?sent=1", status_code=303)


@router.post("/admin/handoffs/{code}/close")
async def close_form(state: StateDep, operator: EditorDep, code: Code) -> Response:
    await _close(state, code, operator.username)
    return RedirectResponse(f"/admin/handoffs/{code.upper()}", status_code=303)
