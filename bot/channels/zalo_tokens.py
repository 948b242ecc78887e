"""The OA access/refresh token pair, persisted in ``zalo_tokens`` (one row, id 1).

Zalo's refresh token is single-use: every refresh returns a new pair, which is written
in one transaction so a crash never leaves a new access token with a spent refresh
token. The environment (``CONGDAN_ZALO_ACCESS_TOKEN`` / ``_REFRESH_TOKEN``) seeds the
pair until the first refresh; after that the database row is the truth.

Several gateway instances share one pair: a refresh holds the row locked (PostgreSQL
``SELECT … FOR UPDATE``) from reading the refresh token until the new pair is stored, so
a second instance waits and then finds the new pair instead of spending a dead token."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.channels.zalo_users import as_utc
from knowledge.db import utcnow, zalo_tokens

ROW_ID = 1


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: dt.datetime | None = None


class TokenStore:
    def __init__(self, engine: Engine, seed: TokenPair | None = None) -> None:
        self.engine = engine
        self.seed = seed

    def load(self) -> TokenPair | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(zalo_tokens).where(zalo_tokens.c.id == ROW_ID)).first()
        if row is None:
            return self.seed
        return TokenPair(row.access_token, row.refresh_token, as_utc(row.expires_at))

    def save(self, pair: TokenPair) -> None:
        """Replace the pair atomically (one transaction)."""
        with self.engine.begin() as connection:
            _write(connection, pair)

    def lease(self) -> TokenLease:
        """The pair, locked until the lease saves a new one or is closed."""
        if self.seed is not None:  # the row must exist to be locked
            with contextlib.suppress(IntegrityError), self.engine.begin() as connection:
                if (
                    connection.execute(sa.select(zalo_tokens.c.id).where(zalo_tokens.c.id == ROW_ID)).first()
                    is None
                ):
                    connection.execute(zalo_tokens.insert().values(id=ROW_ID, **_values(self.seed)))
        return TokenLease(self)


class TokenLease:
    """An open transaction holding the token row locked for one refresh."""

    def __init__(self, store: TokenStore) -> None:
        self._connection = store.engine.connect()
        self._transaction = self._connection.begin()
        try:
            row = self._connection.execute(
                sa.select(zalo_tokens).where(zalo_tokens.c.id == ROW_ID).with_for_update()
            ).first()
        except Exception:
            self.close()
            raise
        self.current = (
            TokenPair(row.access_token, row.refresh_token, as_utc(row.expires_at)) if row else store.seed
        )

    def save(self, pair: TokenPair) -> None:
        _write(self._connection, pair)
        self._transaction.commit()

    def close(self) -> None:
        if self._transaction.is_active:
            self._transaction.rollback()
        self._connection.close()


def _values(pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_at": pair.expires_at,
        "updated_at": utcnow(),
    }


def _write(connection: Connection, pair: TokenPair) -> None:
    updated = connection.execute(
        zalo_tokens.update().where(zalo_tokens.c.id == ROW_ID).values(**_values(pair))
    ).rowcount
    if not updated:
        connection.execute(zalo_tokens.insert().values(id=ROW_ID, **_values(pair)))
