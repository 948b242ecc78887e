"""Subscriptions to a dossier's status changes and the notifications they produce
(tables ``dossier_subscriptions`` and ``notifications`` in knowledge/db.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.inbox import channel_of
from bot.portal.models import Dossier
from bot.portal.replies import change_notice
from bot.portal.statuses import status
from knowledge.db import dossier_subscriptions as subs
from knowledge.db import notifications


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Subscription:
    id: int
    conversation: str
    dossier_code: str
    last_change_key: str | None


def subscribe(engine: Engine, conversation: str, dossier: Dossier) -> bool:
    """Subscribe ``conversation`` to changes after the dossier's current state.
    Returns False when it was already subscribed (then it is simply kept active)."""
    values: dict[str, Any] = {
        "last_status": dossier.status,
        "last_change_key": dossier.change_key,
        "active": True,
    }
    with engine.begin() as connection:
        existing = connection.execute(
            sa.select(subs.c.id).where(
                subs.c.conversation == conversation, subs.c.dossier_code == dossier.code
            )
        ).first()
        if existing:
            connection.execute(subs.update().where(subs.c.id == existing.id).values(**values))
            return False
        try:
            with connection.begin_nested():
                connection.execute(
                    subs.insert().values(
                        conversation=conversation,
                        channel=channel_of(conversation),
                        dossier_code=dossier.code,
                        created_at=_now(),
                        **values,
                    )
                )
        except IntegrityError:  # subscribed concurrently
            return False
    return True


def active(engine: Engine) -> list[Subscription]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(subs.c.id, subs.c.conversation, subs.c.dossier_code, subs.c.last_change_key)
            .where(subs.c.active.is_(True))
            .order_by(subs.c.id)
        ).all()
    return [Subscription(r.id, r.conversation, r.dossier_code, r.last_change_key) for r in rows]


def record_change(engine: Engine, subscription: Subscription, dossier: Dossier) -> bool:
    """Store one notification for this change (at most once, even across restarts) and
    move the subscription past it. Returns True when a notification was created."""
    created = False
    with engine.begin() as connection:
        try:
            with connection.begin_nested():
                connection.execute(
                    notifications.insert().values(
                        subscription_id=subscription.id,
                        conversation=subscription.conversation,
                        change_key=dossier.change_key,
                        status=dossier.status,
                        text=change_notice(dossier),
                        state="pending",
                        created_at=_now(),
                    )
                )
                created = True
        except IntegrityError:  # already recorded before a restart
            created = False
        connection.execute(
            subs.update()
            .where(subs.c.id == subscription.id)
            .values(
                last_status=dossier.status,
                last_change_key=dossier.change_key,
                active=not status(dossier.status).final,
            )
        )
    return created


def claim_pending(connection: sa.Connection, condition: sa.ColumnElement[bool]) -> list[Any]:
    """Undelivered notifications matching ``condition``, marked delivered in the caller's
    transaction (so that handing them on and marking them commit together)."""
    rows = list(
        connection.execute(
            sa.select(
                notifications.c.id,
                notifications.c.conversation,
                notifications.c.text,
                notifications.c.status,
                notifications.c.created_at,
            )
            .where(condition, notifications.c.state == "pending")
            .order_by(notifications.c.id)
        )
    )
    if rows:
        connection.execute(
            notifications.update()
            .where(notifications.c.id.in_([r.id for r in rows]))
            .values(state="delivered", delivered_at=_now())
        )
    return rows


def take_pending(engine: Engine, conversation: str) -> list[dict[str, Any]]:
    """The conversation's undelivered notifications, marked delivered."""
    with engine.begin() as connection:
        rows = claim_pending(connection, notifications.c.conversation == conversation)
    return [
        {"text": r.text, "status": r.status, "created_at": r.created_at.isoformat() if r.created_at else None}
        for r in rows
    ]
