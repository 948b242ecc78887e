"""ASGI middleware: a cap on request bodies for every route, chunked bodies included.

A declared ``Content-Length`` over the cap is answered 413 before anything is read; a
body without one (``Transfer-Encoding: chunked``) is counted as it arrives and the
request is refused with 413 as soon as it passes the cap, so no route ever holds more
than the cap in memory. ``/api/admin/import`` gets a larger cap (spreadsheets).
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.texts import text

LARGE_BODY_PATHS = ("/api/admin/import",)


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413, detail=text("too_large"))


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, large_max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.large_max_bytes = large_max_bytes

    def limit_for(self, path: str) -> int:
        return self.large_max_bytes if path.startswith(LARGE_BODY_PATHS) else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await refuse(send)
                return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except BodyTooLarge:  # raised outside the routes' exception handling (e.g. a middleware)
            if not started:
                await refuse(send)


async def refuse(send: Send) -> None:
    body = json.dumps(
        {"error": "request_entity_too_large", "message": text("too_large")}, ensure_ascii=False
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
