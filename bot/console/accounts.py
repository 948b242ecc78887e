"""Operator accounts (argon2 password hashes) and signed console sessions."""

from __future__ import annotations

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.engine import Engine

from knowledge.db import operators, utcnow

_hasher = PasswordHasher()
SESSION_MAX_AGE_S = 8 * 3600
MIN_PASSWORD = 10


def add_operator(engine: Engine, username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"mật khẩu cần ít nhất {MIN_PASSWORD} ký tự")
    values = {"password_hash": _hasher.hash(password)}
    with engine.begin() as connection:
        updated = connection.execute(
            operators.update().where(operators.c.username == username).values(**values)
        )
        if not updated.rowcount:
            connection.execute(operators.insert().values(username=username, created_at=utcnow(), **values))


def verify(engine: Engine, username: str, password: str) -> bool:
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(operators.c.password_hash).where(operators.c.username == username)
        ).scalar_one_or_none()
    try:
        return stored is not None and _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


class ConsoleSessions:
    COOKIE = "congdan_admin"

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="congdan.admin-session")

    def issue(self, username: str) -> str:
        return str(self._serializer.dumps(username))

    def operator(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            username = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except (BadSignature, SignatureExpired):
            return None
        return username if isinstance(username, str) else None
