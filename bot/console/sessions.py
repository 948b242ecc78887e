"""Server-side console sessions. The cookie holds a random 256-bit token; the database
holds only its SHA-256, the operator, a per-session CSRF token and two deadlines: idle
(``last_seen_at`` + idle minutes) and absolute (``expires_at``). Deleting the row ends
the session at once (logout, password reset, account removal)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.console.accounts import Operator, as_role
from bot.console.tables import console_sessions, operators
from knowledge.db import utcnow

COOKIE = "congdan_admin"
TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen_at is written at most once a minute


@dataclass(frozen=True)
class ConsoleSession:
    operator: Operator
    csrf: str
    token_hash: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def start(engine: Engine, username: str, lifetime: dt.timedelta) -> tuple[str, str]:
    """A new session: returns (cookie token, csrf token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            console_sessions.insert().values(
                token_hash=token_hash(token),
                username=username,
                csrf=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=now + lifetime,
            )
        )
        # Expired rows of anyone are swept as sessions start (cheap, indexed by primary key scan).
        connection.execute(console_sessions.delete().where(console_sessions.c.expires_at < now))
    return token, csrf


def lookup(engine: Engine, token: str | None, idle: dt.timedelta) -> ConsoleSession | None:
    """The live session for a cookie token, else None (unknown, ended, idle or expired)."""
    if not token or len(token) > 100:
        return None
    key = token_hash(token)
    now = utcnow()
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(
                console_sessions.c.csrf,
                console_sessions.c.last_seen_at,
                console_sessions.c.expires_at,
                operators.c.username,
                operators.c.role,
            )
            .join(operators, operators.c.username == console_sessions.c.username)
            .where(console_sessions.c.token_hash == key)
        ).first()
    if row is None:
        return None
    last_seen = _aware(row.last_seen_at)
    if _aware(row.expires_at) <= now or last_seen + idle <= now:
        end(engine, token)
        return None
    if now - last_seen >= TOUCH_EVERY:
        with engine.begin() as connection:
            connection.execute(
                console_sessions.update().where(console_sessions.c.token_hash == key).values(last_seen_at=now)
            )
    return ConsoleSession(Operator(row.username, as_role(row.role)), row.csrf, key)


def end(engine: Engine, token: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            console_sessions.delete().where(console_sessions.c.token_hash == token_hash(token))
        )


def end_all(engine: Engine, username: str) -> int:
    with engine.begin() as connection:
        return int(
            connection.execute(
                console_sessions.delete().where(console_sessions.c.username == username)
            ).rowcount
        )
