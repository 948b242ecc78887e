"""The OA access/refresh token pair, persisted in ``zalo_tokens`` (one row, id 1).

Zalo's refresh token is single-use: every refresh returns a new pair, which is written
in one transaction so a crash never leaves a new access token with a spent refresh
token. The environment (``CONGDAN_ZALO_ACCESS_TOKEN`` / ``_REFRESH_TOKEN``) seeds the
pair until the first refresh; after that the database row is the truth.

Several gateway instances share one pair: a refresh holds the row locked (PostgreSQL
``SELECT … FOR UPDATE``) from reading the refresh token until the new pair is stored, so
a second instance waits and then finds the new pair instead of spending a dead token.

Both tokens are encrypted at rest (``TokenCipher``: Fernet, the key derived from the server
secret with HKDF), stored as ``fernet:<token>``. A row written in plain text by an older
version is still read once and re-encrypted at once; a row that cannot be decrypted
(the secret changed) is ignored in favour of the environment's pair, with a log line."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.channels.zalo_users import as_utc
from knowledge.db import utcnow, zalo_tokens

log = logging.getLogger(__name__)
ROW_ID = 1
PREFIX = "fernet:"


class TokenCipher:
    """Encrypts the token pair for the database with a key derived from the server secret."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"congdan:zalo-tokens").derive(
            secret.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, value: str) -> str:
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, stored: str) -> tuple[str, bool]:
        """The token, and whether it was stored in plain text (an older row)."""
        if not stored.startswith(PREFIX):
            return stored, True
        return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode(), False


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: dt.datetime | None = None


class TokenStore:
    def __init__(self, engine: Engine, cipher: TokenCipher, seed: TokenPair | None = None) -> None:
        self.engine = engine
        self.cipher = cipher
        self.seed = seed

    def load(self) -> TokenPair | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(zalo_tokens).where(zalo_tokens.c.id == ROW_ID)).first()
        if row is None:
            return self.seed
        pair, was_plain = self.read(row)
        if pair is None:
            return self.seed
        if was_plain:  # written by an older version: encrypt it now
            self.save(pair)
        return pair

    def read(self, row: Any) -> tuple[TokenPair | None, bool]:
        try:
            access, plain_access = self.cipher.decrypt(row.access_token)
            refresh, plain_refresh = self.cipher.decrypt(row.refresh_token)
        except InvalidToken:
            log.error("zalo: the stored token pair cannot be decrypted (server secret changed?)")
            return None, False
        return TokenPair(access, refresh, as_utc(row.expires_at)), plain_access or plain_refresh

    def save(self, pair: TokenPair) -> None:
        """Replace the pair atomically (one transaction)."""
        with self.engine.begin() as connection:
            _write(connection, self.cipher, pair)

    def lease(self) -> TokenLease:
        """The pair, locked until the lease saves a new one or is closed."""
        if self.seed is not None:  # the row must exist to be locked
            with contextlib.suppress(IntegrityError), self.engine.begin() as connection:
                if (
                    connection.execute(sa.select(zalo_tokens.c.id).where(zalo_tokens.c.id == ROW_ID)).first()
                    is None
                ):
                    connection.execute(
                        zalo_tokens.insert().values(id=ROW_ID, **_values(self.cipher, self.seed))
                    )
        return TokenLease(self)


class TokenLease:
    """An open transaction holding the token row locked for one refresh."""

    def __init__(self, store: TokenStore) -> None:
        self._cipher = store.cipher
        self._connection = store.engine.connect()
        self._transaction = self._connection.begin()
        try:
            row = self._connection.execute(
                sa.select(zalo_tokens).where(zalo_tokens.c.id == ROW_ID).with_for_update()
            ).first()
        except Exception:
            self.close()
            raise
        stored = store.read(row)[0] if row else None
        self.current = stored or store.seed

    def save(self, pair: TokenPair) -> None:
        _write(self._connection, self._cipher, pair)
        self._transaction.commit()

    def close(self) -> None:
        if self._transaction.is_active:
            self._transaction.rollback()
        self._connection.close()


def _values(cipher: TokenCipher, pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": cipher.encrypt(pair.access_token),
        "refresh_token": cipher.encrypt(pair.refresh_token),
        "expires_at": pair.expires_at,
        "updated_at": utcnow(),
    }


def _write(connection: Connection, cipher: TokenCipher, pair: TokenPair) -> None:
    values = _values(cipher, pair)
    updated = connection.execute(
        zalo_tokens.update().where(zalo_tokens.c.id == ROW_ID).values(**values)
    ).rowcount
    if not updated:
        connection.execute(zalo_tokens.insert().values(id=ROW_ID, **values))
