"""ASGI middleware: a per-address limit on dossier lookups through ``POST /api/chat``.

Every message that carries a dossier code (in any form ``find_code`` accepts) is one
lookup; more than ``CONGDAN_RATE_LIMIT_LOOKUP`` of them from one client address get
429 with ``Retry-After`` and a polite Vietnamese message, whatever conversation they
come from. With the per-dossier budget (``bot/portal/attempts.py``) this bounds how fast
one address can guess, and how many dossiers it can probe.

Messages without a code pass untouched (the body is replayed to the route as read).
Runs inside ``BodyLimit``, so the body it reads is already capped.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.portal.codes import find_code
from bot.ratelimit import RateLimiter
from bot.texts import text

log = logging.getLogger(__name__)
CHAT_PATH = "/api/chat"


class LookupLimit:
    def __init__(self, app: ASGIApp, limiter: RateLimiter, hotline: str) -> None:
        self.app = app
        self.limiter = limiter
        self.hotline = hotline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") != CHAT_PATH:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        if _carries_code(body):
            address = scope["client"][0] if scope.get("client") else "unknown"
            decision = await self.limiter.hit("lookup", address)
            if not decision.allowed:
                log.info("dossier lookup limit reached for one address")
                await _refuse(send, text("lookup_limited", hotline=self.hotline), decision.retry_after_s)
                return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}]), send)


def _carries_code(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    message = payload.get("message") if isinstance(payload, dict) else None
    return isinstance(message, str) and find_code(message[:20000]) is not None


def _replay(messages: list[Message]) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return {"type": "http.disconnect"}

    return receive


async def _refuse(send: Send, message: str, retry_after_s: int) -> None:
    body = json.dumps({"error": "too_many_requests", "message": message}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(retry_after_s).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
