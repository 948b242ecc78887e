"""The database schema (SQLAlchemy Core), the engine factory and migrations.

SQLite under ``var/`` by default, PostgreSQL by URL. Every schema change is an
Alembic migration in ``knowledge/migrations``; ``migrate(url)`` brings a database to
the newest revision and is safe to call at every start.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

metadata = sa.MetaData()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


procedures = sa.Table(
    "procedures",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("field", sa.String(200)),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revision", sa.Integer),  # the published revision's number (0006)
)

procedure_revisions = sa.Table(
    "procedure_revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("procedure_id", sa.String(64), nullable=False, index=True),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # create | update | delete | edit | import | revert
    sa.Column("changed_fields", sa.JSON, nullable=False),
    sa.Column("data", sa.JSON),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    # 0006: numbered 1, 2, … per procedure; who published this revision and when.
    sa.Column("number", sa.Integer),
    sa.Column("note", sa.String(255)),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("published_by", sa.String(120)),
    sa.Index("ix_procedure_revisions_procedure_number", "procedure_id", "number"),
)

# A procedure's latest unpublished revision, beside its published record (0006).
procedure_drafts = sa.Table(
    "procedure_drafts",
    metadata,
    sa.Column("procedure_id", sa.String(64), primary_key=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Operator accounts (`operators`) are described in bot/console/tables.py.

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation", sa.String(64), nullable=False),  # hashed sender id
    sa.Column("question", sa.Text),
    sa.Column("procedure_id", sa.String(64)),
    sa.Column("rating", sa.String(8), nullable=False),  # up | down
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

unanswered = sa.Table(
    "unanswered",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("candidates", sa.JSON, nullable=False),
    sa.Column("channel", sa.String(16)),
    sa.Column("status", sa.String(16), nullable=False, default="open"),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

handoff_tickets = sa.Table(
    "handoff_tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(16), nullable=False, unique=True),
    sa.Column("conversation", sa.String(128), nullable=False),
    sa.Column("channel", sa.String(16)),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("question", sa.Text),
    sa.Column("procedure_id", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),  # open | closed
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


def default_sqlite_url(var_dir: Path) -> str:
    return f"sqlite:///{var_dir / 'congdan.db'}"


def create_db_engine(url: str) -> Engine:
    """An engine with sane defaults; SQLite gets WAL and a busy timeout for two writers.
    Statement parameters (citizens' questions, ids) never appear in error messages or logs."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 15}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Upgrade the database at ``url`` to the newest schema."""
    from alembic import command

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


# --- dossier status notifications (portal) --------------------------------------------
dossier_subscriptions = sa.Table(
    "dossier_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation", sa.String(128), nullable=False),  # sender id: web:… / zalo:…
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("dossier_code", sa.String(40), nullable=False),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_change_key", sa.String(64)),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("conversation", "dossier_code", name="uq_subscription"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subscription_id", sa.Integer, nullable=False, index=True),
    sa.Column("conversation", sa.String(128), nullable=False, index=True),
    sa.Column("change_key", sa.String(64), nullable=False),  # one notification per status change
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | delivered
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("subscription_id", "change_key", name="uq_notification_change"),
)

# Dossier lookups (verification tries): at most N failed tries per dossier per conversation
# and hour; the dossier code is stored as a keyed hash, never in clear.
dossier_lookup_attempts = sa.Table(
    "dossier_lookup_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation", sa.String(128), nullable=False),
    sa.Column("dossier_key", sa.String(64), nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lookup_attempts_conversation_at", "conversation", "at"),
)

# --- Zalo Official Account --------------------------------------------------------------
zalo_tokens = sa.Table(
    "zalo_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # a single row, id = 1
    sa.Column("access_token", sa.Text, nullable=False),
    sa.Column("refresh_token", sa.Text, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

zalo_users = sa.Table(
    "zalo_users",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),  # the 48-hour window
    sa.Column("last_buttons", sa.JSON),  # numbered choices last shown: [{"title","payload"}]
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String(128), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),  # pending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
)
