"""Personal data of one conversation, and the retention period (Law 91/2025/QH15).

A *subject* is a conversation's sender id: ``web:<random>`` (given as the web session
token ``/api/chat`` returned, of any age) or ``zalo:<user id>``.

- ``export``: everything stored about it, as plain JSON-ready data;
- ``delete``: erase it everywhere (Rasa tracker events, hence the transcripts the console
  shows; feedback; handoff tickets and officers' replies; subscriptions and notifications;
  lookup tries; for Zalo the outbox rows and the ``zalo_users`` row); returns the counts;
- ``purge``: delete what is older than ``CONGDAN_RETENTION_DAYS`` in the same places, plus
  unanswered questions; the gateway runs it daily (``start_daily_purge``).

Every use is written to the audit log (``privacy.export`` / ``privacy.delete`` /
``privacy.purge``). The unanswered queue keeps no conversation id (its questions are
masked before they are stored), so it is covered by the purge, not by ``delete``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.inbox import conversation_key
from bot.security_audit import audit
from bot.sessions import SessionTokens
from bot.settings import Settings
from knowledge.db import (
    create_db_engine,
    dossier_lookup_attempts,
    dossier_subscriptions,
    feedback,
    handoff_tickets,
    notifications,
    outbox,
    unanswered,
    utcnow,
    zalo_users,
)

log = logging.getLogger(__name__)
DAY_S = 24 * 3600

# Rasa's SQL tracker store table (owned by Rasa: described here, never created by us).
_rasa = sa.MetaData()
tracker_events = sa.Table(
    "events",
    _rasa,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255)),
    sa.Column("type_name", sa.String(255)),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


class UnknownSubject(ValueError):
    """Not a session token this server issued, nor ``zalo:<user id>``."""


def subject_of(identifier: str, tokens: SessionTokens) -> str:
    """The sender id for a web session token (any age) or ``zalo:<user id>``."""
    identifier = identifier.strip()
    if identifier.startswith("zalo:"):
        user_id = identifier.removeprefix("zalo:")
        if user_id and len(user_id) <= 64 and user_id.isprintable() and " " not in user_id:
            return identifier
        raise UnknownSubject(identifier)
    sender_id = tokens.sender_id(identifier, any_age=True)
    if sender_id is None:
        raise UnknownSubject(identifier)
    return sender_id


@contextlib.contextmanager
def tracker_engine(settings: Settings) -> Iterator[Engine | None]:
    """The Rasa tracker store's database: PostgreSQL shared with ours, or var/rasa_tracker.db
    (None when it was never created: nothing to read or delete there)."""
    if settings.database_url and settings.database_url.startswith("postgresql"):
        engine = create_db_engine(settings.database_url)
    elif settings.tracker_db_path.exists():
        engine = create_db_engine(f"sqlite:///{settings.tracker_db_path}")
    else:
        yield None
        return
    try:
        yield engine if sa.inspect(engine).has_table("events") else None
    finally:
        engine.dispose()


def _replies_table() -> sa.Table | None:
    try:
        from bot.console.tables import handoff_replies
    except ImportError:  # pragma: no cover - the console is part of the gateway
        return None
    return handoff_replies


def _rows(connection: Connection, query: sa.Select[Any]) -> list[dict[str, Any]]:
    rows = []
    for row in connection.execute(query):
        item = dict(row._mapping)
        for key, value in item.items():
            if isinstance(value, dt.datetime):
                item[key] = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
        rows.append(item)
    return rows


def _zalo_user(sender_id: str) -> str | None:
    return sender_id.removeprefix("zalo:") if sender_id.startswith("zalo:") else None


def export(engine: Engine, settings: Settings, sender_id: str, actor: str) -> dict[str, Any]:
    """Everything stored about one conversation (audited)."""
    data: dict[str, Any] = {"subject": sender_id, "exported_at": utcnow().isoformat()}
    user = _zalo_user(sender_id)
    with engine.connect() as connection:
        tickets = _rows(
            connection, sa.select(handoff_tickets).where(handoff_tickets.c.conversation == sender_id)
        )
        data["handoff_tickets"] = tickets
        replies = _replies_table()
        codes = [t["code"] for t in tickets]
        data["handoff_replies"] = (
            _rows(connection, sa.select(replies).where(replies.c.ticket_code.in_(codes)))
            if replies is not None and codes
            else []
        )
        data["feedback"] = _rows(
            connection, sa.select(feedback).where(feedback.c.conversation == conversation_key(sender_id))
        )
        data["dossier_subscriptions"] = _rows(
            connection,
            sa.select(dossier_subscriptions).where(dossier_subscriptions.c.conversation == sender_id),
        )
        data["notifications"] = _rows(
            connection, sa.select(notifications).where(notifications.c.conversation == sender_id)
        )
        data["dossier_lookup_attempts"] = _rows(
            connection,
            sa.select(dossier_lookup_attempts.c.success, dossier_lookup_attempts.c.at).where(
                dossier_lookup_attempts.c.conversation == sender_id
            ),
        )
        data["zalo_user"] = (
            _rows(connection, sa.select(zalo_users).where(zalo_users.c.user_id == user)) if user else []
        )
        data["outbox"] = (
            _rows(connection, sa.select(outbox).where(outbox.c.channel == "zalo", outbox.c.recipient == user))
            if user
            else []
        )
    with tracker_engine(settings) as tracker:
        data["conversation_events"] = []
        if tracker is not None:
            with tracker.connect() as connection:
                query = (
                    sa.select(tracker_events.c.type_name, tracker_events.c.timestamp, tracker_events.c.data)
                    .where(tracker_events.c.sender_id == sender_id)
                    .order_by(tracker_events.c.id)
                )
                data["conversation_events"] = _rows(connection, query)
    audit(engine, actor, "privacy.export", _pseudonym(sender_id), {})
    return data


def _pseudonym(sender_id: str) -> str:
    """What the audit log records about the subject (not the id itself)."""
    return f"{sender_id.split(':', 1)[0]}:{conversation_key(sender_id)[:12]}"


def delete(engine: Engine, settings: Settings, sender_id: str, actor: str) -> dict[str, int]:
    """Erase one conversation everywhere; returns what was removed, by kind (audited)."""
    removed: dict[str, int] = {}
    user = _zalo_user(sender_id)
    with engine.begin() as connection:
        codes = list(
            connection.execute(
                sa.select(handoff_tickets.c.code).where(handoff_tickets.c.conversation == sender_id)
            ).scalars()
        )
        replies = _replies_table()
        if replies is not None:
            removed["handoff_replies"] = (
                connection.execute(replies.delete().where(replies.c.ticket_code.in_(codes))).rowcount
                if codes
                else 0
            )
        steps: list[tuple[str, sa.Table, Any]] = [
            ("handoff_tickets", handoff_tickets, handoff_tickets.c.conversation == sender_id),
            ("feedback", feedback, feedback.c.conversation == conversation_key(sender_id)),
            ("notifications", notifications, notifications.c.conversation == sender_id),
            (
                "dossier_subscriptions",
                dossier_subscriptions,
                dossier_subscriptions.c.conversation == sender_id,
            ),
            (
                "dossier_lookup_attempts",
                dossier_lookup_attempts,
                dossier_lookup_attempts.c.conversation == sender_id,
            ),
        ]
        if user:
            steps.append(("outbox", outbox, sa.and_(outbox.c.channel == "zalo", outbox.c.recipient == user)))
            steps.append(("zalo_users", zalo_users, zalo_users.c.user_id == user))
        for name, table, condition in steps:
            removed[name] = connection.execute(table.delete().where(condition)).rowcount
    removed["conversation_events"] = 0
    with tracker_engine(settings) as tracker:
        if tracker is not None:
            with tracker.begin() as connection:
                removed["conversation_events"] = connection.execute(
                    tracker_events.delete().where(tracker_events.c.sender_id == sender_id)
                ).rowcount
    audit(engine, actor, "privacy.delete", _pseudonym(sender_id), {"removed": removed})
    return removed


def purge(engine: Engine, settings: Settings, actor: str, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete everything older than the retention period; returns the counts (audited)."""
    cutoff = (now or utcnow()) - dt.timedelta(days=settings.retention_days)
    removed: dict[str, int] = {}
    with engine.begin() as connection:
        replies = _replies_table()
        if replies is not None:
            old_codes = sa.select(handoff_tickets.c.code).where(handoff_tickets.c.at < cutoff)
            removed["handoff_replies"] = connection.execute(
                replies.delete().where(sa.or_(replies.c.at < cutoff, replies.c.ticket_code.in_(old_codes)))
            ).rowcount
        steps: list[tuple[str, sa.Table, Any]] = [
            ("handoff_tickets", handoff_tickets, handoff_tickets.c.at < cutoff),
            ("feedback", feedback, feedback.c.at < cutoff),
            ("unanswered", unanswered, unanswered.c.at < cutoff),
            ("notifications", notifications, notifications.c.created_at < cutoff),
            ("dossier_subscriptions", dossier_subscriptions, dossier_subscriptions.c.created_at < cutoff),
            ("outbox", outbox, sa.and_(outbox.c.created_at < cutoff, outbox.c.state != "pending")),
            ("zalo_users", zalo_users, zalo_users.c.last_message_at < cutoff),
            ("dossier_lookup_attempts", dossier_lookup_attempts, dossier_lookup_attempts.c.at < cutoff),
        ]
        for name, table, condition in steps:
            removed[name] = connection.execute(table.delete().where(condition)).rowcount
    removed["conversation_events"] = 0
    with tracker_engine(settings) as tracker:
        if tracker is not None:
            with tracker.begin() as connection:
                removed["conversation_events"] = connection.execute(
                    tracker_events.delete().where(tracker_events.c.timestamp < cutoff.timestamp())
                ).rowcount
    if actor != "system" or any(removed.values()):  # the daily run is audited when it removed something
        audit(engine, actor, "privacy.purge", None, {"removed": removed, "before": cutoff.isoformat()})
    return removed


@dataclass
class DailyPurge:
    task: asyncio.Task[None] | None

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def start_daily_purge(
    settings: Settings, engine: Engine, interval_s: float = DAY_S, first_after_s: float = 60.0
) -> DailyPurge:
    """Run ``purge`` a minute after the start, then every day, in the background (call
    inside the running loop)."""

    async def loop() -> None:
        await asyncio.sleep(first_after_s)
        while True:
            try:
                removed = await asyncio.to_thread(purge, engine, settings, "system")
                log.info("retention purge: %s", {k: v for k, v in removed.items() if v})
            except SQLAlchemyError:
                log.exception("retention purge failed; will try again")
            await asyncio.sleep(interval_s)

    return DailyPurge(asyncio.create_task(loop()))
