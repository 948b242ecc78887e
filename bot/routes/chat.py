"""POST /api/chat: the web channel's conversation endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from bot.deps import StateDep
from bot.ratelimit import limit_by_client, limit_by_session
from bot.texts import text

router = APIRouter(tags=["chat"])


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    session: str | None = Field(default=None, max_length=200)
    message: str = Field(max_length=20000)


class Button(BaseModel):
    title: str
    payload: str


class Link(BaseModel):
    title: str
    url: str


class BotMessage(BaseModel):
    text: str
    buttons: list[Button] = []
    links: list[Link] = []


class ChatResponse(BaseModel):
    session: str
    messages: list[BotMessage]


@router.post("/api/chat", response_model=ChatResponse, dependencies=[Depends(limit_by_client)])
async def chat(body: ChatRequest, state: StateDep, request: Request) -> Any:
    sender_id = state.tokens.sender_id(body.session)
    if sender_id:
        await limit_by_session(request, sender_id)
    session = body.session if sender_id else state.tokens.issue()
    sender_id = sender_id or str(state.tokens.sender_id(session))
    if not body.message.strip():
        return JSONResponse({"error": "empty_message", "message": text("empty")}, status_code=422)
    return {"session": session, "messages": await state.conversation.reply(sender_id, body.message)}
