"""The gateway's own behaviour, with Rasa deliberately unreachable (a closed loopback port)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.console.accounts import AccountError, add_operator
from knowledge import catalogue_store
from knowledge.catalogue import load_seed
from knowledge.db import create_db_engine, migrate
from tests.conftest import free_port
from tests.console.helpers import login


@pytest.fixture
def client(settings, monkeypatch):
    monkeypatch.setenv("CONGDAN_RASA_PORT", str(free_port()))
    monkeypatch.setenv("CONGDAN_ACTIONS_PORT", str(free_port()))
    from bot.settings import Settings

    config = Settings()
    migrate(config.sqlalchemy_url)
    with TestClient(create_app(config)) as test_client:
        yield test_client


def test_healthz_lives(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_names_the_parts_that_are_not_ready(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert set(body["not_ready"]) == {"rasa_model", "action_server"}
    assert body["checks"]["index"] is True


def test_rasa_down_gives_a_polite_apology_quickly_and_a_session(client: TestClient) -> None:
    started = time.monotonic()
    response = client.post("/api/chat", json={"session": None, "message": "xin chào"})
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 3.0
    body = response.json()
    assert body["session"] and "Xin lỗi" in body["messages"][0]["text"]
    assert "1900" in body["messages"][0]["text"]


def test_a_session_the_server_did_not_issue_is_replaced(client: TestClient) -> None:
    first = client.post("/api/chat", json={"session": None, "message": "a"}).json()["session"]
    kept = client.post("/api/chat", json={"session": first, "message": "b"}).json()["session"]
    assert kept == first
    forged = client.post("/api/chat", json={"session": "web:someone-else", "message": "c"}).json()["session"]
    assert forged not in ("web:someone-else", first)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 422),
        (b'{"message": 5}', 422),
        (b'{"session": null}', 422),
        (b'["list"]', 422),
        (b'{"message": "xin ch\xe0o"}', 400),  # Latin-1 bytes: not UTF-8
        (b'{"message": "   "}', 422),
    ],
)
def test_malformed_requests_get_a_clear_4xx_without_a_traceback(
    client: TestClient, body: bytes, status: int
) -> None:
    response = client.post("/api/chat", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    payload = response.json()
    assert "Yêu cầu không hợp lệ" in payload["message"] or "trống" in payload["message"]
    assert "Traceback" not in response.text


def test_a_message_over_the_limit_is_answered_with_a_notice(client: TestClient) -> None:
    response = client.post("/api/chat", json={"session": None, "message": "a" * 1001})
    assert response.status_code == 200
    assert "1000 ký tự" in response.json()["messages"][0]["text"]


def test_search_route_matches_the_cli_shape(client: TestClient) -> None:
    body = client.get("/api/search", params={"q": "lam lai can cuoc bi mat", "top": 3}).json()
    assert set(body) == {"query", "decision", "results", "ms"}
    assert body["results"][0]["id"] == "cancuoc.cap-lai" and len(body["results"]) == 3
    assert client.get("/api/search", params={"q": ""}).status_code == 422
    assert client.get("/api/search", params={"q": "x" * 10_000}).status_code == 422
    assert client.get("/api/search", params={"q": "a", "top": 0}).status_code == 422


def test_widget_and_demo_page_are_served_with_security_headers(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/widget.js"' in page.text
    assert "frame-ancestors" in page.headers["content-security-policy"]
    script = client.get("/widget.js")
    assert script.status_code == 200 and "attachShadow" in script.text
    assert "innerHTML" not in script.text  # bot text is only ever inserted as text


def test_operator_console_needs_login(client: TestClient, settings) -> None:
    assert client.get("/api/admin/session").status_code == 401
    page = client.get("/admin", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/admin/login"

    engine = create_db_engine(settings.sqlalchemy_url)
    add_operator(engine, "canbo", "mat-khau-dai-du")
    catalogue_store.seed_if_empty(engine, load_seed()[:3])
    engine.dispose()
    bad = login(client, "canbo", "sai-mat-khau")
    assert bad.status_code == 401 and "Sai tên đăng nhập" in bad.text
    good = login(client, "canbo", "mat-khau-dai-du")
    assert good.status_code == 303
    assert client.get("/api/admin/session").json()["operator"] == "canbo"
    assert ">3</span> thủ tục trong danh mục" in client.get("/admin").text
    client.cookies.clear()
    assert client.get("/api/admin/session").status_code == 401


def test_operator_passwords_must_be_long_enough(settings) -> None:
    engine = create_db_engine(settings.sqlalchemy_url)
    migrate(settings.sqlalchemy_url)
    with pytest.raises(AccountError, match="mật khẩu cần"):
        add_operator(engine, "x", "short")
    engine.dispose()
