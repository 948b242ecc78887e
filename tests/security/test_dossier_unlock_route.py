"""POST /api/admin/dossiers/{code}/unlock: an admin lifts a dossier's lock for everyone
(audited); an editor cannot; without a session or the CSRF token nothing happens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.console.accounts import add_operator
from bot.console.tables import audit_log
from bot.portal import attempts
from bot.portal.lockout import key_of
from bot.settings import Settings
from knowledge.db import create_db_engine, migrate
from tests.conftest import free_port
from tests.console.helpers import api_csrf, login

CODE = "000.00.04.H51-200221-0001"
BUDGET = attempts.Budget(per_conversation=3, per_dossier=10)


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Settings]]:
    for key in ("CONGDAN_DATABASE_URL", "CONGDAN_REDIS_URL", "CONGDAN_PORTAL_URL", "CONGDAN_SESSION_SECRET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CONGDAN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONGDAN_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CONGDAN_RASA_PORT", str(free_port()))
    monkeypatch.setenv("CONGDAN_ACTIONS_PORT", str(free_port()))
    monkeypatch.setenv("CONGDAN_NOTIFIER_ENABLED", "false")
    config = Settings()
    migrate(config.sqlalchemy_url)
    engine = create_db_engine(config.sqlalchemy_url)
    add_operator(engine, "quantri", "mat-khau-quan-tri-1", role="admin")
    add_operator(engine, "bientap", "mat-khau-bien-tap-1", role="editor")
    key = key_of(CODE, config)
    for n in range(10):  # ten failed tries from ten conversations: locked for everyone
        attempts.begin(engine, f"web:guess-{n}", key)
    assert attempts.lookup_state(engine, "web:citizen", key, BUDGET).locked_for_everyone
    engine.dispose()
    with TestClient(create_app(config)) as client:
        yield client, config


def state(config: Settings) -> attempts.LookupState:
    engine = create_db_engine(config.sqlalchemy_url)
    try:
        return attempts.lookup_state(engine, "web:citizen", key_of(CODE, config), BUDGET)
    finally:
        engine.dispose()


def test_an_admin_unlocks_a_dossier_for_everyone_and_it_is_audited(
    console: tuple[TestClient, Settings],
) -> None:
    client, config = console
    assert login(client, "quantri", "mat-khau-quan-tri-1").status_code == 303
    response = client.post(
        "/api/admin/dossiers/000 00 04 h51 200221 0001/unlock", headers={"X-CSRF-Token": api_csrf(client)}
    )
    assert response.status_code == 200 and response.json() == {"code": CODE, "forgiven": 10}
    assert not state(config).locked and state(config).tries_left == 3
    engine = create_db_engine(config.sqlalchemy_url)
    with engine.connect() as connection:
        [row] = connection.execute(sa.select(audit_log).where(audit_log.c.action == "dossier.unlock")).all()
    engine.dispose()
    assert (row.actor, row.target) == ("quantri", CODE)


def test_an_editor_cannot_and_a_bad_code_is_a_clear_422(console: tuple[TestClient, Settings]) -> None:
    client, config = console
    login(client, "bientap", "mat-khau-bien-tap-1")
    forbidden = client.post(f"/api/admin/dossiers/{CODE}/unlock", headers={"X-CSRF-Token": api_csrf(client)})
    assert forbidden.status_code == 403 and state(config).locked_for_everyone
    client.post("/admin/logout", headers={"X-CSRF-Token": api_csrf(client)})
    client.cookies.clear()
    login(client, "quantri", "mat-khau-quan-tri-1")
    bad = client.post("/api/admin/dossiers/not-a-code/unlock", headers={"X-CSRF-Token": api_csrf(client)})
    assert bad.status_code == 422 and "Mã hồ sơ" in bad.json()["message"]


def test_no_session_or_no_csrf_token_changes_nothing(console: tuple[TestClient, Settings]) -> None:
    client, config = console
    assert client.post(f"/api/admin/dossiers/{CODE}/unlock").status_code == 401
    login(client, "quantri", "mat-khau-quan-tri-1")
    assert client.post(f"/api/admin/dossiers/{CODE}/unlock").status_code == 403
    assert state(config).locked_for_everyone
