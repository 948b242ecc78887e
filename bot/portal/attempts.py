"""Verification tries for dossier lookups, stored in the database (SQLAlchemy Core).

Two budgets, both counting failed tries (wrong digits and unknown codes count the same):

- per conversation: at most ``per_conversation`` failures per dossier in ``WINDOW`` (one
  hour) and ``CONVERSATION_FACTOR`` times that across all dossiers of one conversation
  (so one conversation cannot enumerate codes);
- per dossier, across every conversation: ``per_dossier`` failures in ``DOSSIER_WINDOW``
  (24 h) lock the dossier for everyone until the window passes or an operator unlocks it
  (``unlock_dossier``); a new conversation costs an attacker nothing, this does.

A try is recorded (as a failure) *before* the digits are compared, and turned into a
success only after a match, so nothing that happens during the comparison can make a
try free. Dossier codes are stored as an HMAC-SHA256 under a key derived from the
server secret (``dossier_key``), never in clear and never as a plain hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.portal.tables import dossier_lookup_unlocks as unlocks
from knowledge.db import dossier_lookup_attempts as attempts

WINDOW = dt.timedelta(hours=1)
DOSSIER_WINDOW = dt.timedelta(hours=24)
CONVERSATION_FACTOR = 3


@dataclass(frozen=True)
class Budget:
    per_conversation: int = 3  # failures per dossier and conversation in WINDOW
    per_dossier: int = 10  # failures per dossier, all conversations, in DOSSIER_WINDOW


@dataclass(frozen=True)
class LookupState:
    tries_left: int  # for this conversation and dossier (0 = locked)
    locked_for_everyone: bool  # the per-dossier budget is spent

    @property
    def locked(self) -> bool:
        return self.locked_for_everyone or self.tries_left <= 0


def dossier_key(code: str, key: bytes) -> str:
    """The keyed hash stored instead of the code (HMAC-SHA256, hex)."""
    return hmac.new(key, f"congdan.dossier:{code}".encode(), hashlib.sha256).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def last_unlock(engine: Engine, key: str) -> dt.datetime | None:
    with engine.connect() as connection:
        value = connection.execute(
            sa.select(sa.func.max(unlocks.c.at)).where(unlocks.c.dossier_key == key)
        ).scalar_one()
    return _as_utc(value) if value is not None else None


def _failures(
    engine: Engine, since: dt.datetime, conversation: str | None = None, key: str | None = None
) -> int:
    query = sa.select(sa.func.count()).where(attempts.c.success.is_(False), attempts.c.at >= since)
    if conversation is not None:
        query = query.where(attempts.c.conversation == conversation)
    if key is not None:
        query = query.where(attempts.c.dossier_key == key)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def lookup_state(
    engine: Engine, conversation: str, key: str, budget: Budget, now: dt.datetime | None = None
) -> LookupState:
    """Whether ``conversation`` may try ``key`` now, and how many failures it has left."""
    now = now or _now()
    unlocked = last_unlock(engine, key)

    def since(window: dt.timedelta) -> dt.datetime:
        start = now - window
        return max(start, unlocked) if unlocked else start

    everyone = _failures(engine, since(DOSSIER_WINDOW), key=key)
    per_dossier = budget.per_conversation - _failures(engine, since(WINDOW), conversation, key)
    overall = budget.per_conversation * CONVERSATION_FACTOR - _failures(engine, now - WINDOW, conversation)
    return LookupState(
        tries_left=max(0, min(per_dossier, overall, budget.per_dossier - everyone)),
        locked_for_everyone=everyone >= budget.per_dossier,
    )


def begin(engine: Engine, conversation: str, key: str, now: dt.datetime | None = None) -> int:
    """Record a try as failed before anything is compared; returns its id."""
    with engine.begin() as connection:
        result = connection.execute(
            attempts.insert().values(
                conversation=conversation, dossier_key=key, success=False, at=now or _now()
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def succeed(engine: Engine, attempt_id: int) -> None:
    """The digits matched: the try no longer counts as a failure."""
    with engine.begin() as connection:
        connection.execute(attempts.update().where(attempts.c.id == attempt_id).values(success=True))


def cancel(engine: Engine, attempt_id: int) -> None:
    """Nothing was compared (the portal did not answer): forget the try."""
    with engine.begin() as connection:
        connection.execute(attempts.delete().where(attempts.c.id == attempt_id))


def unlock(engine: Engine, key: str, actor: str, now: dt.datetime | None = None) -> int:
    """Lift the lock of one dossier for everyone; returns the failures it forgave."""
    now = now or _now()
    forgiven = _failures(engine, now - DOSSIER_WINDOW, key=key)
    with engine.begin() as connection:
        connection.execute(unlocks.insert().values(dossier_key=key, actor=actor[:120], at=now))
    return forgiven
