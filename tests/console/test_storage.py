"""The console's storage on both databases the product supports (SQLite by default,
PostgreSQL in production): accounts, sessions, audit and handoff replies through the
service functions, and migration 0005 upgrading a PostgreSQL database at 0004."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from bot import inbox
from bot.console import accounts, audit, handoffs, sessions
from bot.console.tables import console_sessions
from knowledge.db import alembic_config, create_db_engine, handoff_tickets
from tests.conftest import POSTGRES_ADMIN_URL

HOUR = dt.timedelta(hours=1)


def test_accounts_sessions_audit_and_replies(engine: Engine) -> None:
    assert accounts.add_operator(engine, "canbo", "mat-khau-dai-du-1", role="admin")
    token, csrf = sessions.start(engine, "canbo", HOUR)
    live = sessions.lookup(engine, token, HOUR)
    assert live is not None and live.operator == accounts.Operator("canbo", "admin") and live.csrf == csrf
    assert sessions.lookup(engine, token + "x", HOUR) is None
    with engine.begin() as connection:  # last seen two hours ago: idle for longer than an hour
        connection.execute(console_sessions.update().values(last_seen_at=dt.datetime.now(dt.UTC) - 2 * HOUR))
    assert sessions.lookup(engine, token, HOUR) is None
    assert sessions.end_all(engine, "canbo") == 0  # the idle session was already removed

    code = inbox.create_handoff(engine, "web:abc", "asked_human", "hỏi cán bộ, số 0912 345 678", None)
    with engine.connect() as connection:
        stored_question = connection.execute(
            sa.select(handoff_tickets.c.question).where(handoff_tickets.c.code == code)
        ).scalar_one()
    assert stored_question == "hỏi cán bộ, số [SĐT]"  # not even the database keeps the number
    stored = handoffs.reply(engine, code, "canbo", "  Chào Anh/Chị  ")
    assert stored["text"] == "Chào Anh/Chị" and stored["delivery"] == "waiting"
    assert handoffs.close(engine, code, "canbo")["status"] == "closed"
    with pytest.raises(handoffs.TicketClosed):
        handoffs.reply(engine, code, "canbo", "thêm")
    with pytest.raises(handoffs.TicketNotFound):
        handoffs.close(engine, "HT-000000", "canbo")
    assert handoffs.list_tickets(engine, "closed")[0]["replies"] == 1
    audit.record(engine, "canbo", "export", "catalogue.xlsx", {"rows": 3, "ghi_chú": "có dấu"})
    newest = audit.entries(engine, limit=1)[0]
    assert (newest["action"], newest["detail"]) == ("export", {"rows": 3, "ghi_chú": "có dấu"})
    assert [e["action"] for e in audit.entries(engine, action="handoff")] == [
        "handoff.close",
        "handoff.reply",
    ]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    name = f"congdan_test_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migration_0005_on_postgresql_makes_existing_operators_admins(postgres_url: str) -> None:
    config = alembic_config(postgres_url)
    command.upgrade(config, "0004")
    engine = create_db_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO operators (username, password_hash, created_at) VALUES (:u, :h, now())"),
            {"u": "canbo-cu", "h": accounts._hasher.hash("mat-khau-cu-dai-du")},
        )
    command.upgrade(config, "0005")
    old = accounts.authenticate(engine, "canbo-cu", "mat-khau-cu-dai-du")
    assert old is not None and old.role == "admin"
    command.downgrade(config, "0004")
    assert "console_sessions" not in sa.inspect(engine).get_table_names()
    engine.dispose()
