"""Verification tries for dossier lookups, stored in the database (SQLAlchemy Core).

At most ``max_tries`` failed tries per dossier per conversation in the window (one
hour), and at most ``CONVERSATION_FACTOR`` times that across all dossiers of one
conversation (so nobody can enumerate codes). Wrong digits and unknown codes count
the same. The dossier code is stored hashed.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from knowledge.db import dossier_lookup_attempts as attempts

WINDOW = dt.timedelta(hours=1)
CONVERSATION_FACTOR = 3


def dossier_key(code: str) -> str:
    return hashlib.sha256(f"congdan.dossier:{code}".encode()).hexdigest()[:40]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _failures(engine: Engine, conversation: str, key: str | None, since: dt.datetime) -> int:
    query = sa.select(sa.func.count()).where(
        attempts.c.conversation == conversation, attempts.c.success.is_(False), attempts.c.at >= since
    )
    if key is not None:
        query = query.where(attempts.c.dossier_key == key)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def tries_left(
    engine: Engine, conversation: str, code: str, max_tries: int, now: dt.datetime | None = None
) -> int:
    """How many failed tries remain before the lookup of ``code`` is locked (0 = locked)."""
    since = (now or _now()) - WINDOW
    per_dossier = max_tries - _failures(engine, conversation, dossier_key(code), since)
    overall = max_tries * CONVERSATION_FACTOR - _failures(engine, conversation, None, since)
    return max(0, min(per_dossier, overall))


def record(
    engine: Engine, conversation: str, code: str, success: bool, now: dt.datetime | None = None
) -> None:
    with engine.begin() as connection:
        connection.execute(
            attempts.insert().values(
                conversation=conversation, dossier_key=dossier_key(code), success=success, at=now or _now()
            )
        )
