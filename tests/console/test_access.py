"""Accounts and access: login form and its CSRF token, roles (401/403), CSRF on every
unsafe console call (403), login throttling (429), revocable server-side sessions (401),
cookie flags and no-store on every console response; all through the real app."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bot.app import create_app
from bot.console import accounts, audit
from bot.console.deps import csrf_protect
from bot.console.tables import console_sessions
from bot.settings import Settings
from tests.console.conftest import ADMIN, EDITOR
from tests.console.helpers import api_csrf, form_csrf, login


def test_without_a_session_api_is_401_and_pages_redirect(client: TestClient) -> None:
    for path in ("/api/admin/session", "/api/admin/audit", "/api/admin/handoffs", "/api/admin/feedback"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"] == "unauthorized" and "đăng nhập" in response.json()["message"]
    for path in ("/admin", "/admin/handoffs", "/admin/audit"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/admin/login", path
    # An unsafe call without a session is refused before anything else.
    assert client.post("/api/admin/handoffs/HT-000000/close").status_code == 401


def test_login_form_carries_a_csrf_token_and_needs_it(client: TestClient) -> None:
    form = client.get("/admin/login")
    assert form.status_code == 200
    assert 'name="username"' in form.text and 'name="password"' in form.text
    assert form_csrf(form.text)
    missing = client.post(
        "/admin/login", data={"username": EDITOR[0], "password": EDITOR[1]}, follow_redirects=False
    )
    assert missing.status_code == 403 and "hết hạn" in missing.text
    forged = client.post(
        "/admin/login",
        data={"username": EDITOR[0], "password": EDITOR[1], "csrf": "gia-mao"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert login(client, *EDITOR).status_code == 303


def test_wrong_password_is_401_in_vietnamese_and_audited(client: TestClient, console_engine: Engine) -> None:
    bad = login(client, EDITOR[0], "khong-dung-mat-khau")
    assert bad.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in bad.text
    unknown = login(client, "khong-ton-tai", "khong-dung-mat-khau")
    assert unknown.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in unknown.text
    failures = audit.entries(console_engine, action="login.failed")
    assert {e["actor"] for e in failures} == {EDITOR[0], "khong-ton-tai"}


def test_session_cookie_flags_and_session_endpoint(client: TestClient) -> None:
    response = login(client, *EDITOR)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("congdan_admin="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=strict" in flags
    assert "secure" not in flags  # no https public URL configured
    session = client.get("/api/admin/session").json()
    assert session["operator"] == EDITOR[0] and session["role"] == "editor" and len(session["csrf"]) >= 32


def test_cookie_is_secure_when_the_public_url_is_https(
    console_settings: Settings, console_engine: Engine
) -> None:
    config = console_settings.model_copy(update={"public_url": "https://dichvucong.example.gov.vn"})
    # The browser talks https to the TLS proxy (cookies marked Secure are sent back).
    with TestClient(create_app(config), base_url="https://testserver") as client:
        response = login(client, *EDITOR)
        assert client.get("/api/admin/session").status_code == 200
    cookies = [c.lower() for c in response.headers.get_list("set-cookie") if c.startswith("congdan_admin=")]
    assert cookies and "; secure" in cookies[0]


def test_every_console_response_is_no_store(client: TestClient) -> None:
    responses = [
        client.get("/admin/login"),
        client.get("/api/admin/session"),
        client.get("/admin/static/htmx.min.js"),
    ]
    login(client, *ADMIN)
    responses += [client.get("/admin"), client.get("/api/admin/session"), client.get("/api/admin/audit")]
    for response in responses:
        assert response.headers["cache-control"] == "no-store", response.url
    assert "no-store" not in client.get("/widget.js").headers.get("cache-control", "")


def test_roles_editor_gets_403_where_admin_gets_200(client: TestClient) -> None:
    login(client, *EDITOR)
    assert client.get("/api/admin/audit").status_code == 403
    assert client.get("/api/admin/operators").status_code == 403
    assert client.get("/api/admin/audit").json()["message"].startswith("Tài khoản của Anh/Chị không có quyền")
    assert client.get("/admin/audit").status_code == 403
    assert "Nhật ký" not in client.get("/admin").text  # the nav does not offer it
    assert client.get("/api/admin/handoffs").status_code == 200
    client.cookies.clear()
    login(client, *ADMIN)
    entries = client.get("/api/admin/audit").json()
    assert [e["action"] for e in entries][:2] == ["login.ok", "login.ok"]
    assert entries[0]["actor"] == ADMIN[0]
    roles = {o["username"]: o["role"] for o in client.get("/api/admin/operators").json()}
    assert roles == {EDITOR[0]: "editor", ADMIN[0]: "admin"}
    assert "Nhật ký" in client.get("/admin").text and client.get("/admin/audit").status_code == 200


def test_unsafe_calls_without_the_csrf_token_are_403(client: TestClient) -> None:
    login(client, *EDITOR)
    assert client.post("/api/admin/handoffs/HT-000000/close").status_code == 403
    wrong = client.post("/api/admin/handoffs/HT-000000/close", headers={"X-CSRF-Token": "sai"})
    assert wrong.status_code == 403 and "CSRF" in wrong.json()["message"]
    right = client.post("/api/admin/handoffs/HT-000000/close", headers={"X-CSRF-Token": api_csrf(client)})
    assert right.status_code == 404  # past the CSRF check: the ticket does not exist
    # Page forms: the hidden input.
    assert client.post("/admin/logout", follow_redirects=False).status_code == 403
    page_token = form_csrf(client.get("/admin").text)
    out = client.post("/admin/logout", data={"csrf": page_token}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/api/admin/session").status_code == 401


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI includes them lazily)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found


def test_no_unsafe_console_route_can_skip_csrf(client: TestClient) -> None:
    unsafe = {"POST", "PUT", "PATCH", "DELETE"}
    login(client, *ADMIN)
    checked = []
    for route in _api_routes(client.app.routes):  # type: ignore[attr-defined]
        if not route.methods & unsafe or not route.path.startswith(("/admin", "/api/admin")):
            continue
        if route.path == "/admin/login":  # anonymous: its own signed double-submit token
            continue
        assert csrf_protect in [d.dependency for d in route.dependencies], (
            f"{route.path} lacks CSRF protection"
        )
        path = re.sub(r"\{[^}]+\}", "HT-000000", route.path)
        for method in route.methods & unsafe:
            refused = client.request(method, path, json={})
            assert refused.status_code == 403, (
                f"{method} {path} answered {refused.status_code} without a token"
            )
        checked.append(route.path)
    assert {"/admin/logout", "/api/admin/handoffs/{code}/reply", "/api/admin/handoffs/{code}/close"} <= set(
        checked
    )


def test_ten_failures_for_one_name_lock_that_name_only(client: TestClient) -> None:
    for _ in range(10):
        assert login(client, EDITOR[0], "doan-sai-mat-khau").status_code == 401
    locked = login(client, *EDITOR)  # even the right password
    assert locked.status_code == 429
    assert "quá nhiều lần" in locked.text and int(locked.headers["retry-after"]) > 0
    assert login(client, *ADMIN).status_code == 303  # same address, another name: not locked


def test_address_limit_is_much_higher_but_exists(
    console_settings: Settings, console_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = console_settings.model_copy(update={"console_login_limit_address": "12/15 minutes"})
    with TestClient(create_app(config)) as client:
        for i in range(12):  # 12 different names, one address: no name reaches its limit
            assert login(client, f"ten-{i}", "doan-sai-mat-khau").status_code == 401
        assert login(client, *ADMIN).status_code == 429


def test_with_redis_the_name_limit_holds_across_gateway_instances(
    console_settings: Settings, console_engine: Engine, redis_url: str
) -> None:
    config = console_settings.model_copy(update={"redis_url": redis_url})
    with TestClient(create_app(config)) as first, TestClient(create_app(config)) as second:
        for i in range(10):
            assert login(first if i % 2 else second, EDITOR[0], "doan-sai-mat-khau").status_code == 401
        assert login(first, *EDITOR).status_code == 429
        assert login(second, *EDITOR).status_code == 429
        assert login(second, *ADMIN).status_code == 303


def test_logout_reset_and_removal_end_sessions_at_once(client: TestClient, console_engine: Engine) -> None:
    login(client, *EDITOR)
    assert client.get("/api/admin/session").status_code == 200
    accounts.add_operator(console_engine, EDITOR[0], "mat-khau-moi-dai-du")  # password reset
    assert client.get("/api/admin/session").status_code == 401
    assert login(client, EDITOR[0], "mat-khau-moi-dai-du").status_code == 303
    assert client.get("/api/admin/session").status_code == 200
    assert accounts.remove_operator(console_engine, EDITOR[0])
    assert client.get("/api/admin/session").status_code == 401
    assert login(client, EDITOR[0], "mat-khau-moi-dai-du").status_code == 401


def test_idle_and_absolute_expiry(client: TestClient, console_engine: Engine) -> None:
    login(client, *EDITOR)
    assert client.get("/api/admin/session").status_code == 200
    with console_engine.begin() as connection:
        connection.execute(
            console_sessions.update().values(
                last_seen_at=sa.func.coalesce(None, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
            )
        )
    assert client.get("/api/admin/session").status_code == 401  # idle for longer than 30 minutes
    login(client, *EDITOR)
    with console_engine.begin() as connection:
        connection.execute(console_sessions.update().values(expires_at=dt.datetime.now(dt.UTC)))
    assert client.get("/api/admin/session").status_code == 401


def test_stored_session_is_a_hash_of_the_cookie(client: TestClient, console_engine: Engine) -> None:
    response = login(client, *EDITOR)
    token = response.cookies["congdan_admin"]
    with console_engine.connect() as connection:
        stored = connection.execute(sa.select(console_sessions.c.token_hash)).scalars().all()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64


def test_unknown_name_does_the_same_password_work(
    console_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = accounts._hasher

    class Counting:
        def verify(self, stored: str, password: str) -> bool:
            calls.append(stored)
            return real.verify(stored, password)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_hasher", Counting())
    assert accounts.authenticate(console_engine, "khong-ton-tai", "mot-mat-khau-nao-do") is None
    assert accounts.authenticate(console_engine, EDITOR[0], "mot-mat-khau-nao-do") is None
    assert len(calls) == 2 and all(c.startswith("$argon2id$") for c in calls)
    operator = accounts.authenticate(console_engine, *EDITOR)
    assert operator is not None and (operator.username, operator.role) == (EDITOR[0], "editor")


def test_account_rules(console_engine: Engine) -> None:
    with pytest.raises(accounts.AccountError, match="mật khẩu cần"):
        accounts.add_operator(console_engine, "x", "short")
    with pytest.raises(accounts.AccountError, match="vai trò"):
        accounts.add_operator(console_engine, "x", "mat-khau-dai-du", role="root")
    with pytest.raises(accounts.AccountError, match="tên đăng nhập"):
        accounts.add_operator(console_engine, "có dấu cách", "mat-khau-dai-du")
    # A reset keeps the role unless one is given.
    accounts.add_operator(console_engine, ADMIN[0], "mat-khau-moi-dai-du")
    admin = accounts.authenticate(console_engine, ADMIN[0], "mat-khau-moi-dai-du")
    assert admin is not None and admin.role == "admin"
