"""The console's tables on ``knowledge.db.metadata``: operator accounts (with a role),
server-side console sessions, the audit log and officers' replies to handoff tickets.

Created by Alembic revision 0005; this module only describes them.
"""

from __future__ import annotations

import sqlalchemy as sa

from knowledge.db import metadata

operators = sa.Table(
    "operators",
    metadata,
    sa.Column("username", sa.String(120), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # editor | admin
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Only a SHA-256 of the cookie's random token is stored: a copy of the database does not
# let anyone sign in.
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(120), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("target", sa.String(255)),
    sa.Column("detail", sa.JSON),
)

handoff_replies = sa.Table(
    "handoff_replies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_code", sa.String(16), nullable=False, index=True),
    sa.Column("author", sa.String(120), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    # How it was handed on: web → a row in `notifications`; zalo → a row in `outbox`;
    # undeliverable → neither (the reason is in `delivery_note`).
    sa.Column("delivery", sa.String(16), nullable=False),
    sa.Column("notification_id", sa.Integer),
    sa.Column("outbox_id", sa.Integer),
    sa.Column("delivery_note", sa.Text),
)
