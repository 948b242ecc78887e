"""Structure: ``bot`` never imports ``actions``; the console ships its own htmx (no CDN);
migration 0005 upgrades a database from 0004 and existing operators become admins."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient

from bot.console import accounts
from knowledge.db import alembic_config, create_db_engine

REPO = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_bot_never_imports_actions() -> None:
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in sorted((REPO / "bot").rglob("*.py"))
        for name in _imported_modules(path)
        if name == "actions" or name.startswith("actions.")
    ]
    assert offenders == []
    assert _imported_modules(REPO / "actions" / "server.py") >= {"actions", "rasa_sdk.endpoint"}


def test_supervisor_starts_the_action_server_from_actions() -> None:
    source = (REPO / "bot" / "supervisor.py").read_text(encoding="utf-8")
    assert '"actions.server"' in source and "bot.action_server" not in source


def test_htmx_is_vendored_and_served_by_the_gateway(client: TestClient) -> None:
    script = client.get("/admin/static/htmx.min.js")
    assert script.status_code == 200 and "htmx" in script.text[:2000]
    assert (REPO / "bot" / "console" / "static" / "htmx.LICENSE").read_text().startswith("Zero-Clause BSD")
    login_page = client.get("/admin/login").text
    assert '<script src="/admin/static/htmx.min.js"' in login_page
    assert "https://" not in login_page  # nothing from a CDN


def test_migration_0005_upgrades_an_0004_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0004")
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO operators (username, password_hash, created_at) VALUES (:u, :h, :at)"),
            {
                "u": "canbo-cu",
                "h": accounts._hasher.hash("mat-khau-cu-dai-du"),
                "at": dt.datetime.now(dt.UTC),
            },
        )
    command.upgrade(config, "0005")
    operator = accounts.authenticate(engine, "canbo-cu", "mat-khau-cu-dai-du")
    assert operator is not None and operator.role == "admin"
    assert accounts.add_operator(engine, "canbo-moi", "mat-khau-moi-dai-du")
    new = accounts.authenticate(engine, "canbo-moi", "mat-khau-moi-dai-du")
    assert new is not None and new.role == "editor"
    tables = set(sa.inspect(engine).get_table_names())
    assert {"console_sessions", "audit_log", "handoff_replies"} <= tables
    command.downgrade(config, "0004")
    assert "audit_log" not in set(sa.inspect(engine).get_table_names())
    engine.dispose()
