"""A loopback fake of the Zalo OpenAPI and OAuth endpoints, served by uvicorn on a free
127.0.0.1 port in a background thread. It checks the request shape the way Zalo would
(path, ``access_token`` header, JSON body; ``secret_key`` header and form fields for a
refresh) and records every call so tests can assert on what the citizen received."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.conftest import free_port


@dataclass
class FakeZalo:
    app_id: str
    app_secret: str
    access_token: str  # the one Zalo currently accepts
    refresh_token: str  # the one Zalo currently accepts (single use)
    fail_next: int = 0  # answer this many sends with HTTP 503
    slow_next: int = 0  # answer this many sends after `slow_s` (longer than the client timeout)
    slow_s: float = 2.0
    refresh_delay_s: float = 0.0  # how long a token refresh takes to answer
    answer_delay_s: float = 0.0  # a delivered send is answered this much later
    reject_users: dict[str, int] = field(default_factory=dict)  # user id -> Zalo error code
    sent: list[dict[str, Any]] = field(default_factory=list)  # delivered: {"user_id", "text"}
    send_calls: list[dict[str, Any]] = field(default_factory=list)  # every call, raw
    refresh_calls: list[dict[str, Any]] = field(default_factory=list)
    bad_requests: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def texts(self, user_id: str) -> list[str]:
        return [m["text"] for m in self.sent if m["user_id"] == user_id]

    def app(self) -> FastAPI:
        app = FastAPI()
        generation = iter(range(1, 10_000))

        @app.post("/v3.0/oa/message/cs")
        async def send(request: Request) -> Any:
            token = request.headers.get("access_token")
            body = await request.json()
            self.send_calls.append({"access_token": token, "body": body})
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse({"error": "unavailable"}, status_code=503)
            if self.slow_next > 0:
                self.slow_next -= 1
                await asyncio.sleep(self.slow_s)
                return {"error": 0, "message": "Success (too late)"}
            if set(body) != {"recipient", "message"} or set(body["recipient"]) != {"user_id"}:
                self.bad_requests.append(f"send body {body}")
                return {"error": -201, "message": "Parameters are invalid"}
            if set(body["message"]) != {"text"} or not body["message"]["text"]:
                self.bad_requests.append(f"send message {body}")
                return {"error": -201, "message": "Parameters are invalid"}
            if len(body["message"]["text"]) > 2000:
                self.bad_requests.append("text over 2000 characters")
                return {"error": -201, "message": "Text is too long"}
            if token != self.access_token:
                return {"error": -216, "message": "Access token is invalid"}
            if body["recipient"]["user_id"] in self.reject_users:
                return {"error": self.reject_users[body["recipient"]["user_id"]], "message": "User rejected"}
            self.sent.append({"user_id": body["recipient"]["user_id"], "text": body["message"]["text"]})
            await asyncio.sleep(self.answer_delay_s)
            return {"error": 0, "message": "Success", "data": {"message_id": f"m{len(self.sent)}"}}

        @app.post("/v4/oa/access_token")
        async def refresh(request: Request) -> Any:
            form = dict(await request.form())
            self.refresh_calls.append({"secret_key": request.headers.get("secret_key"), "form": form})
            await asyncio.sleep(self.refresh_delay_s)
            if request.headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
                return {"error": -14002, "error_description": "Invalid app secret"}
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
                return {"error": -14014, "error_description": "Invalid refresh token"}
            n = next(generation)
            self.access_token, self.refresh_token = f"access-{n}", f"refresh-{n}"
            return {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": "90000",
            }

        return app


class Served:
    """Runs an ASGI app with uvicorn on 127.0.0.1 in a thread."""

    def __init__(self, app: Any, port: int | None = None, lifespan: str = "off") -> None:
        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan=lifespan)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("loopback server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
