"""Operator accounts: a name, a role (``editor`` or ``admin``) and an argon2id hash.

- ``add_operator`` creates an account or resets its password (and ends its sessions).
- ``remove_operator`` deletes an account and ends its sessions at once.
- ``authenticate`` costs the same for an unknown name as for a wrong password: an unknown
  name is verified against a dummy hash, so timing does not reveal which names exist.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from bot.console.tables import console_sessions, operators
from knowledge.db import utcnow

Role = Literal["editor", "admin"]
ROLES: tuple[Role, ...] = ("editor", "admin")
MIN_PASSWORD = 10
MAX_PASSWORD = 200
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,120}$")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@dataclass(frozen=True)
class Operator:
    username: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def as_role(value: object) -> Role:
    """A stored role, read defensively: anything unexpected gets the lesser role."""
    return "admin" if value == "admin" else "editor"


class AccountError(ValueError):
    """A bad name, password or role; the message is Vietnamese and shown to the operator."""


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _check(username: str, password: str | None, role: str | None) -> None:
    if not _USERNAME.match(username):
        raise AccountError("tên đăng nhập chỉ gồm chữ không dấu, số và . _ @ - (tối đa 120 ký tự)")
    if password is not None and not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"mật khẩu cần từ {MIN_PASSWORD} đến {MAX_PASSWORD} ký tự")
    if role is not None and role not in ROLES:
        raise AccountError("vai trò phải là editor hoặc admin")


def add_operator(engine: Engine, username: str, password: str, role: str | None = None) -> bool:
    """Create the account (role ``editor`` unless given) or reset its password (its role is
    kept unless given). Ends the account's sessions. Returns True when it was created."""
    _check(username, password, role)
    values: dict[str, object] = {"password_hash": _hasher.hash(password)}
    if role is not None:
        values["role"] = role
    with engine.begin() as connection:
        updated = connection.execute(
            operators.update().where(operators.c.username == username).values(**values)
        ).rowcount
        if updated:
            connection.execute(console_sessions.delete().where(console_sessions.c.username == username))
            return False
        connection.execute(
            operators.insert().values(username=username, created_at=utcnow(), **{"role": "editor", **values})
        )
    return True


def remove_operator(engine: Engine, username: str) -> bool:
    """Delete the account and every session of it. Returns False when it did not exist."""
    with engine.begin() as connection:
        connection.execute(console_sessions.delete().where(console_sessions.c.username == username))
        return bool(connection.execute(operators.delete().where(operators.c.username == username)).rowcount)


def authenticate(engine: Engine, username: str, password: str) -> Operator | None:
    """The operator when the password is right, else None (same work either way)."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(operators.c.password_hash, operators.c.role).where(operators.c.username == username)
        ).first()
    stored = row.password_hash if row is not None else _dummy_hash()
    ok: bool
    try:
        ok = _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        return None
    if _hasher.check_needs_rehash(stored):
        with engine.begin() as connection:
            connection.execute(
                operators.update()
                .where(operators.c.username == username)
                .values(password_hash=_hasher.hash(password))
            )
    return Operator(username, as_role(row.role))


def list_operators(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(operators.c.username, operators.c.role, operators.c.created_at).order_by(
                operators.c.username
            )
        )
        return [dict(r._mapping) for r in rows]
