"""What the gateway remembers per Zalo user: when they last wrote (Zalo's 48-hour
window for free-form replies) and the numbered choices last shown to them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from knowledge.db import utcnow, zalo_users


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands timezone-aware columns back naive; they are always stored in UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class ZaloUsers:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def touch(self, user_id: str, at: dt.datetime | None = None) -> None:
        """Record that the user just wrote to the OA."""
        self._upsert(user_id, {"last_message_at": at or utcnow()})

    def set_buttons(self, user_id: str, buttons: list[dict[str, str]]) -> None:
        self._upsert(user_id, {"last_buttons": buttons or None})

    def buttons(self, user_id: str) -> list[dict[str, str]]:
        with self.engine.connect() as connection:
            value = connection.execute(
                sa.select(zalo_users.c.last_buttons).where(zalo_users.c.user_id == user_id)
            ).scalar()
        return [b for b in value if isinstance(b, dict)] if isinstance(value, list) else []

    def last_seen(self, user_id: str) -> dt.datetime | None:
        with self.engine.connect() as connection:
            value = connection.execute(
                sa.select(zalo_users.c.last_message_at).where(zalo_users.c.user_id == user_id)
            ).scalar()
        return as_utc(value)

    def _upsert(self, user_id: str, values: dict[str, Any]) -> None:
        for _ in range(2):  # a concurrent insert of the same user makes the second try an update
            try:
                with self.engine.begin() as connection:
                    updated = connection.execute(
                        zalo_users.update().where(zalo_users.c.user_id == user_id).values(**values)
                    ).rowcount
                    if not updated:
                        connection.execute(
                            zalo_users.insert().values(
                                user_id=user_id, **{"last_message_at": utcnow(), **values}
                            )
                        )
                return
            except IntegrityError:
                continue
