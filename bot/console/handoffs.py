"""The handoff inbox: tickets the assistant opened for a human officer (table
``handoff_tickets``), the officers' replies (``handoff_replies``) and how each reply
reaches the citizen on their channel.

Questions and transcripts are shown with phone, ID numbers and dossier codes masked.

- web: a row in ``notifications`` for the conversation — the same path as dossier
  notices: shown before the citizen's next answer, returned by ``GET /api/notifications``
  (the open widget polls it), each shown once.
- zalo: rows in the ``outbox`` (split as Zalo requires) when the citizen wrote within
  Zalo's 48-hour window; else the reply is stored as ``undeliverable`` with the reason.
The citizen reads "Cán bộ đã trả lời yêu cầu HT-…: <text>" (templates/citizen/handoff_reply.txt).
Replies and closes are audited in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.channels import outbox
from bot.channels.zalo import CHANNEL as ZALO
from bot.channels.zalo import REPLY_WINDOW
from bot.channels.zalo_format import split_text
from bot.channels.zalo_users import as_utc
from bot.console import audit
from bot.console.pages import render_text
from bot.console.tables import handoff_replies
from bot.inbox import channel_of
from bot.logs import mask_pii
from knowledge.db import handoff_tickets, notifications, utcnow, zalo_users
from knowledge.db import outbox as outbox_table

MAX_REPLY_CHARS = 2000
HANDOFF_NOTICE_STATUS = 0  # notifications.status for a reply (dossier notices use 1–10)


class TicketNotFound(LookupError):
    pass


class TicketClosed(RuntimeError):
    pass


def _iso(value: dt.datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None  # type: ignore[union-attr]


def _public(row: Any, replies: int | None = None) -> dict[str, Any]:
    ticket = {
        "code": row.code,
        "channel": row.channel or channel_of(row.conversation),
        "reason": row.reason,
        "question": mask_pii(row.question) if row.question else None,
        "procedure_id": row.procedure_id,
        "status": row.status,
        "at": _iso(row.at),
    }
    if replies is not None:
        ticket["replies"] = replies
    return ticket


def list_tickets(engine: Engine, status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Newest first, with the number of replies each has."""
    counts = (
        sa.select(handoff_replies.c.ticket_code, sa.func.count().label("n"))
        .group_by(handoff_replies.c.ticket_code)
        .subquery()
    )
    query = (
        sa.select(handoff_tickets, sa.func.coalesce(counts.c.n, 0).label("replies"))
        .outerjoin(counts, counts.c.ticket_code == handoff_tickets.c.code)
        .order_by(handoff_tickets.c.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(handoff_tickets.c.status == status)
    with engine.connect() as connection:
        return [_public(r, int(r.replies)) for r in connection.execute(query)]


def _ticket_row(connection: sa.Connection, code: str) -> Any:
    row = connection.execute(sa.select(handoff_tickets).where(handoff_tickets.c.code == code)).first()
    if row is None:
        raise TicketNotFound(code)
    return row


def _delivery_state(row: Any) -> str:
    """sent/shown, waiting, or undeliverable — what the officer needs to know."""
    if row.delivery == "web":
        return "shown" if row.notification_state == "delivered" else "waiting"
    if row.delivery == "zalo":
        return {"sent": "sent", "failed": "undeliverable", "expired": "undeliverable"}.get(
            row.outbox_state or "", "waiting"
        )
    return "undeliverable"


def replies_of(connection: sa.Connection, code: str) -> list[dict[str, Any]]:
    query = (
        sa.select(
            handoff_replies,
            notifications.c.state.label("notification_state"),
            outbox_table.c.state.label("outbox_state"),
            outbox_table.c.last_error.label("outbox_error"),
        )
        .outerjoin(notifications, notifications.c.id == handoff_replies.c.notification_id)
        .outerjoin(outbox_table, outbox_table.c.id == handoff_replies.c.outbox_id)
        .where(handoff_replies.c.ticket_code == code)
        .order_by(handoff_replies.c.id)
    )
    return [
        {
            "id": r.id,
            "author": r.author,
            "text": r.text,
            "at": _iso(r.at),
            "channel": r.delivery if r.delivery in ("web", ZALO) else None,
            "delivery": _delivery_state(r),
            "note": r.delivery_note or (r.outbox_error if r.outbox_state in ("failed", "expired") else None),
        }
        for r in connection.execute(query)
    ]


def get_ticket(engine: Engine, code: str) -> tuple[dict[str, Any], str]:
    """The ticket with its replies, and the conversation's sender id (for the transcript)."""
    with engine.connect() as connection:
        row = _ticket_row(connection, code)
        ticket = _public(row)
        ticket["replies"] = replies_of(connection, code)
    return ticket, str(row.conversation)


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def citizen_message(code: str, text: str) -> str:
    return render_text("citizen/handoff_reply.txt", code=code, text=text)


def reply(
    engine: Engine, code: str, author: str, text: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Store the officer's reply and hand it to the citizen's channel; returns the reply
    as ``replies_of`` shows it. Raises TicketNotFound / TicketClosed."""
    now = now or utcnow()
    text = text.strip()
    with engine.begin() as connection:
        ticket = _ticket_row(connection, code)
        if ticket.status != "open":
            raise TicketClosed(code)
        conversation = str(ticket.conversation)
        channel = ticket.channel or channel_of(conversation)
        message = citizen_message(code, text)
        values: dict[str, Any] = {"delivery": "undeliverable", "delivery_note": None}
        if channel == "web":
            notice = connection.execute(
                notifications.insert().values(
                    subscription_id=0,  # not a dossier subscription
                    conversation=conversation,
                    change_key=f"handoff-reply:{secrets.token_hex(8)}",
                    status=HANDOFF_NOTICE_STATUS,
                    text=message,
                    state="pending",
                    created_at=now,
                )
            )
            values = {"delivery": "web", "notification_id": _new_id(notice)}
        elif channel == ZALO:
            user_id = conversation.split(":", 1)[1]
            last = connection.execute(
                sa.select(zalo_users.c.last_message_at).where(zalo_users.c.user_id == user_id)
            ).scalar()
            if last is not None and now - as_utc(last) <= REPLY_WINDOW:  # type: ignore[operator]
                values = {"delivery": ZALO}
            else:
                values["delivery_note"] = (
                    "Không gửi được: người dân nhắn Zalo lần cuối đã quá 48 giờ (Zalo không cho gửi tin tự do)."
                )
        else:
            values["delivery_note"] = f"Không gửi được: kênh {channel} chưa hỗ trợ trả lời của cán bộ."
        inserted = connection.execute(
            handoff_replies.insert().values(ticket_code=code, author=author, text=text, at=now, **values)
        )
        reply_id = _new_id(inserted)
        if values["delivery"] == ZALO:
            ids = [
                outbox._insert(connection, ZALO, user_id, {"text": part})  # in this transaction
                for part in split_text(message)
            ]
            connection.execute(
                handoff_replies.update().where(handoff_replies.c.id == reply_id).values(outbox_id=ids[-1])
            )
        audit.record(
            connection, author, "handoff.reply", code, {"reply_id": reply_id, "delivery": values["delivery"]}
        )
        stored = replies_of(connection, code)
    return next(r for r in stored if r["id"] == reply_id)


def close(engine: Engine, code: str, author: str) -> dict[str, Any]:
    with engine.begin() as connection:
        row = _ticket_row(connection, code)
        if row.status != "closed":
            connection.execute(
                handoff_tickets.update().where(handoff_tickets.c.code == code).values(status="closed")
            )
            audit.record(connection, author, "handoff.close", code)
        ticket = _public(_ticket_row(connection, code))
    return ticket
