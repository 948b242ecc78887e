"""/readyz checks what a citizen's turn needs: a real NLU turn through Rasa's REST channel
(not a /greet payload), the action server, the database, Redis when configured, the
index; it reports the portal breaker's state. Each part that fails is named."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.settings import Settings
from knowledge.db import migrate
from tests.bot.test_metrics import FakeRasa
from tests.conftest import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def rasa(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    from http.server import ThreadingHTTPServer

    FakeRasa.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CONGDAN_RASA_PORT", str(server.server_address[1]))
    monkeypatch.setenv("CONGDAN_ACTIONS_PORT", str(free_port()))  # nothing listens: not ready
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _readyz(**env: str) -> tuple[int, dict[str, Any]]:
    config = Settings(**env)  # type: ignore[arg-type]
    if config.database_url is None:
        migrate(config.sqlalchemy_url)
    with TestClient(create_app(config)) as client:
        response = client.get("/readyz")
    return response.status_code, response.json()


def test_rasa_is_checked_with_a_real_nlu_turn_and_each_missing_part_is_named(
    settings: Settings, rasa: int
) -> None:
    status, body = _readyz()
    assert status == 503
    assert body["not_ready"] == ["action_server"]
    assert body["checks"] == {"rasa_model": True, "action_server": False, "database": True, "index": True}
    assert "redis" not in body["checks"]  # not configured: not checked
    assert body["portal_breaker"] == "closed"
    probe = [m for m in FakeRasa.received if m["sender"] == "probe:readiness"]
    assert probe and probe[0]["message"] == "xin chào"  # text through NLU, not "/greet"


def test_rasa_is_probed_once_per_start_not_on_every_check(settings: Settings, rasa: int) -> None:
    config = Settings()
    migrate(config.sqlalchemy_url)
    with TestClient(create_app(config)) as client:
        for _ in range(4):
            client.get("/readyz")
    assert len([m for m in FakeRasa.received if m["sender"] == "probe:readiness"]) == 1


def test_a_database_that_does_not_answer_makes_the_gateway_unready(settings: Settings, rasa: int) -> None:
    status, body = _readyz(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    assert status == 503 and "database" in body["not_ready"]


def test_redis_is_pinged_when_configured(settings: Settings, rasa: int) -> None:
    status, body = _readyz(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert status == 503 and "redis" in body["not_ready"]


@pytest.mark.redis
def test_a_live_redis_counts_as_ready(settings: Settings, rasa: int) -> None:
    _, body = _readyz(redis_url=REDIS_URL)
    assert body["checks"]["redis"] is True


def test_the_breaker_is_reported_as_disabled_without_a_portal_client(
    settings: Settings, rasa: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONGDAN_NOTIFIER_ENABLED", "false")
    _, body = _readyz()
    assert body["portal_breaker"] == "disabled"
