"""Signing in to the console as a browser would: read the login form's hidden csrf input,
post it with the credentials (works with TestClient and httpx.Client alike)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings

CSRF_INPUT = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)"')


def form_csrf(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "no hidden csrf input in the page"
    return found.group(1)


def login(client: Any, username: str, password: str) -> Any:
    """POST /admin/login with the form's token; returns the response (303 on success)."""
    token = form_csrf(client.get("/admin/login").text)
    return client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf": token},
        follow_redirects=False,
    )


def api_csrf(client: Any) -> str:
    response = client.get("/api/admin/session")
    assert response.status_code == 200, response.text
    return str(response.json()["csrf"])


def settings_without_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Embedded defaults under ``tmp_path`` and an empty index directory: editing the
    catalogue needs no search index (saves building one)."""
    for key in ("CONGDAN_DATABASE_URL", "CONGDAN_REDIS_URL", "CONGDAN_PORTAL_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CONGDAN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONGDAN_INDEX_DIR", str(tmp_path / "index"))
    return Settings()
