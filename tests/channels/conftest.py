"""Fixtures for the Zalo channel: a loopback fake Zalo, settings pointing at it and at a
temporary var/, the real gateway app, and a helper to sign and post webhook events."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.channels.zalo_signature import signature
from bot.settings import Settings
from knowledge.db import migrate
from tests.channels.fake_zalo import FakeZalo, Served
from tests.conftest import free_port

APP_ID = "1234567890"
OA_SECRET = "oa-secret-for-tests"
APP_SECRET = "app-secret-for-tests"


class FakeConversation:
    """Stands in for Rasa where the dialogue is not what is tested: records what the
    channel passed and answers with the queued replies (or an echo)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.replies: list[list[dict[str, Any]]] = []
        self.delay_s = 0.0

    async def reply(self, sender_id: str, message: str) -> list[dict[str, Any]]:
        import asyncio

        self.calls.append((sender_id, message))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.replies:
            return self.replies.pop(0)
        return [{"text": f"Đã nhận: {message}", "buttons": [], "links": []}]


def wait_for(condition: Callable[[], Any], timeout_s: float = 20.0, what: str = "condition") -> Any:
    """Poll until ``condition()`` is truthy (a bound on waiting, not a latency assertion)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def text_event(user_id: str, text: str, msg_id: str, event_name: str = "user_send_text") -> dict[str, Any]:
    return {
        "app_id": APP_ID,
        "event_name": event_name,
        "sender": {"id": user_id},
        "recipient": {"id": "oa-1"},
        "message": {"text": text, "msg_id": msg_id},
        "timestamp": str(int(time.time() * 1000)),
    }


def signed(event: dict[str, Any], secret: str = OA_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(event, ensure_ascii=False).encode()
    header = signature(APP_ID, raw, str(event.get("timestamp", "")), secret)
    return raw, {"X-ZEvent-Signature": header, "content-type": "application/json"}


def deliver(client: TestClient, event: dict[str, Any]) -> Any:
    raw, headers = signed(event)
    return client.post("/webhooks/zalo", content=raw, headers=headers)


@pytest.fixture
def fake_zalo() -> Iterator[FakeZalo]:
    fake = FakeZalo(app_id=APP_ID, app_secret=APP_SECRET, access_token="access-0", refresh_token="refresh-0")
    with Served(fake.app()) as served:
        fake.port = served.port
        yield fake


@pytest.fixture
def zalo_settings(tmp_path: Path, fake_zalo: FakeZalo, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("CONGDAN_"):
            monkeypatch.delenv(key)
    env = {
        "CONGDAN_VAR_DIR": str(tmp_path / "var"),
        "CONGDAN_INDEX_DIR": str(tmp_path / "index"),
        "CONGDAN_RASA_PORT": str(free_port()),  # closed: Rasa is down unless a test fakes it
        "CONGDAN_ACTIONS_PORT": str(free_port()),
        "CONGDAN_RASA_TIMEOUT_S": "1",
        "CONGDAN_ZALO_APP_ID": APP_ID,
        "CONGDAN_ZALO_OA_SECRET_KEY": OA_SECRET,
        "CONGDAN_ZALO_APP_SECRET": APP_SECRET,
        "CONGDAN_ZALO_ACCESS_TOKEN": "access-0",
        "CONGDAN_ZALO_REFRESH_TOKEN": "refresh-0",
        "CONGDAN_ZALO_API_BASE": fake_zalo.url,
        "CONGDAN_ZALO_OAUTH_BASE": fake_zalo.url,
        "CONGDAN_ZALO_TIMEOUT_S": "0.5",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config = Settings()
    migrate(config.sqlalchemy_url)
    return config


@pytest.fixture
def gateway(zalo_settings: Settings) -> Iterator[TestClient]:
    """The real gateway app (lifespan started: outbox worker running), Rasa down."""
    with TestClient(create_app(zalo_settings)) as client:
        yield client


@pytest.fixture
def conversation(gateway: TestClient) -> FakeConversation:
    """Swap the gateway's conversation service for the fake (Rasa is not under test)."""
    fake = FakeConversation()
    gateway.app.state.zalo.channel.conversation = fake  # type: ignore[attr-defined]
    return fake


@pytest.fixture
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server")
    assert server, "redis-server is part of the test environment"
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
