"""The OA access/refresh token pair, persisted in ``zalo_tokens`` (one row, id 1).

Zalo's refresh token is single-use: every refresh returns a new pair, which is written
in one transaction so a crash never leaves a new access token with a spent refresh
token. The environment (``CONGDAN_ZALO_ACCESS_TOKEN`` / ``_REFRESH_TOKEN``) seeds the
pair until the first refresh; after that the database row is the truth."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

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
        values = {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "expires_at": pair.expires_at,
            "updated_at": utcnow(),
        }
        with self.engine.begin() as connection:
            updated = connection.execute(
                zalo_tokens.update().where(zalo_tokens.c.id == ROW_ID).values(**values)
            ).rowcount
            if not updated:
                connection.execute(zalo_tokens.insert().values(id=ROW_ID, **values))
