"""/metrics: who may read it, and the families it exposes after turns; the request id
that follows a turn (response header, JSON log lines, Rasa's message metadata)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_app
from bot.logs import JsonFormatter, RequestIdFilter, request_id
from bot.metrics import allowed
from bot.settings import Settings
from knowledge.db import migrate
from tests.conftest import free_port

LOOPBACK = ("127.0.0.1", 41000)
REMOTE = ("203.0.113.7", 41000)  # a documentation address: never contacted, only a label
SILENCE = "câu làm Rasa im lặng"  # the fake answers [] as Rasa does when a custom action failed


class FakeRasa(BaseHTTPRequestHandler):
    """Rasa's REST channel on loopback: records each message body, answers one text."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeRasa.received.append(body)
        said = (
            []
            if body["message"] == SILENCE
            else [{"recipient_id": body["sender"], "text": "Xin chào Anh/Chị"}]
        )
        payload = json.dumps(said).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rasa_port() -> Iterator[int]:
    FakeRasa.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _app(monkeypatch: pytest.MonkeyPatch, rasa_port: int, token: str | None = None) -> Any:
    monkeypatch.setenv("CONGDAN_RASA_PORT", str(rasa_port))
    monkeypatch.setenv("CONGDAN_ACTIONS_PORT", str(free_port()))
    monkeypatch.setenv("CONGDAN_NOTIFIER_ENABLED", "false")
    if token:
        monkeypatch.setenv("CONGDAN_METRICS_TOKEN", token)
    config = Settings()
    migrate(config.sqlalchemy_url)
    return create_app(config)


def _families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_metrics_after_turns_expose_the_named_families(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, rasa_port: int
) -> None:
    with TestClient(_app(monkeypatch, rasa_port), client=LOOPBACK) as client:
        first = client.post("/api/chat", json={"session": None, "message": "xin chào"})
        assert first.status_code == 200
        client.get("/api/search", params={"q": "đăng ký khai sinh"})
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = _families(response.text)
    turns = {
        (s.labels["channel"], s.labels["decision"]): s.value
        for s in families["congdan_turns"].samples
        if s.name == "congdan_turns_total"
    }
    assert turns[("web", "answered")] >= 1
    routes = {s.labels["route"] for s in families["congdan_http_request_duration_seconds"].samples}
    assert {"/api/chat", "/api/search"} <= routes
    rasa = [s for s in families["congdan_rasa_request_duration_seconds"].samples if s.name.endswith("_count")]
    assert any(s.labels["outcome"] == "ok" and s.value >= 1 for s in rasa)
    breaker = {
        s.labels["congdan_portal_breaker"]: s.value for s in families["congdan_portal_breaker"].samples
    }
    assert breaker["disabled"] == 1.0 and breaker["closed"] == 0.0  # the notifier is off here
    assert families["congdan_outbox_backlog"].samples[0].value == 0
    index_info = families["congdan_index_info"].samples[0].labels
    assert index_info["version"] not in ("", "none")


def test_rasa_saying_nothing_gets_the_polite_busy_answer_and_is_counted(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, rasa_port: int
) -> None:
    with TestClient(_app(monkeypatch, rasa_port), client=LOOPBACK) as client:
        response = client.post("/api/chat", json={"session": None, "message": SILENCE})
        text = client.get("/metrics").text
    assert response.status_code == 200
    messages = response.json()["messages"]
    assert (
        len(messages) == 1
        and "hệ thống đang bận" in messages[0]["text"]
        and "1900 1234" in messages[0]["text"]
    )
    assert 'congdan_turns_total{channel="web",decision="no_answer"}' in text


def test_unmatched_paths_share_one_route_label(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, rasa_port: int
) -> None:
    with TestClient(_app(monkeypatch, rasa_port), client=LOOPBACK) as client:
        for n in range(3):
            assert client.get(f"/wp-admin/{n}.php").status_code == 404
        text = client.get("/metrics").text
    assert "/wp-admin" not in text
    assert 'route="other"' in text


def test_metrics_are_not_public_by_default(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, rasa_port: int
) -> None:
    with TestClient(_app(monkeypatch, rasa_port), client=REMOTE) as client:
        response = client.get("/metrics")
    assert response.status_code == 404
    assert "congdan_" not in response.text


def test_a_remote_scraper_needs_the_token(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, rasa_port: int
) -> None:
    token = "scrape-" + "x" * 30
    with TestClient(_app(monkeypatch, rasa_port, token=token), client=REMOTE) as client:
        assert client.get("/metrics").status_code == 403
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        good = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert good.status_code == 200 and "congdan_turns_total" in good.text


def test_access_rule() -> None:
    plain = Settings(metrics_token=None)
    assert allowed(plain, "127.0.0.1", None) == 200
    assert allowed(plain, "::1", None) == 200
    assert allowed(plain, "10.0.0.5", "Bearer anything") == 404
    assert allowed(plain, None, None) == 404
    tokened = Settings(metrics_token="t" * 32)
    assert allowed(tokened, "10.0.0.5", "Bearer " + "t" * 32) == 200
    assert allowed(tokened, "10.0.0.5", "Basic " + "t" * 32) == 403


def test_the_request_id_reaches_rasa_the_response_and_the_log_lines(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, rasa_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(_app(monkeypatch, rasa_port), client=LOOPBACK) as client:
        given = client.post(
            "/api/chat",
            json={"session": None, "message": "xin chào"},
            headers={"X-Request-ID": "turn-0123456789"},
        )
        made = client.post("/api/chat", json={"session": None, "message": "xin chào"})
        forged = client.post(
            "/api/chat", json={"session": None, "message": "xin chào"}, headers={"X-Request-ID": "bad id\n{}"}
        )
    assert given.headers["x-request-id"] == "turn-0123456789"
    assert len(made.headers["x-request-id"]) == 16
    assert forged.headers["x-request-id"] != "bad id\n{}"
    metadata = [body.get("metadata", {}).get("request_id") for body in FakeRasa.received]
    assert "turn-0123456789" in metadata and made.headers["x-request-id"] in metadata


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "gọi %s", ("0912345678",), None)
    token = request_id.bind("abcdef0123456789")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abcdef0123456789"
    outside = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "idle", None, None)
    RequestIdFilter().filter(outside)
    assert "request_id" not in json.loads(JsonFormatter().format(outside))
