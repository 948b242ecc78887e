"""What operators learn from: feedback, unanswered questions and handoff tickets."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.logs import mask_pii
from knowledge.db import feedback, handoff_tickets, unanswered, utcnow

MAX_STORED_TEXT = 1000


def conversation_key(sender_id: str) -> str:
    """A stable pseudonym for a conversation (the raw session token is never stored)."""
    return hashlib.sha256(sender_id.encode()).hexdigest()[:32]


def channel_of(sender_id: str) -> str:
    return sender_id.split(":", 1)[0] if ":" in sender_id else "web"


def record_feedback(
    engine: Engine, sender_id: str, rating: str, question: str | None, procedure_id: str | None
) -> None:
    with engine.begin() as connection:
        connection.execute(
            feedback.insert().values(
                conversation=conversation_key(sender_id),
                rating="up" if rating == "up" else "down",
                question=mask_pii(question or "")[:MAX_STORED_TEXT] or None,  # no phone/ID numbers kept
                procedure_id=procedure_id,
                at=utcnow(),
            )
        )


def record_unanswered(
    engine: Engine, question: str, decision: str, candidates: list[str], channel: str
) -> None:
    with engine.begin() as connection:
        connection.execute(
            unanswered.insert().values(
                question=mask_pii(question)[:MAX_STORED_TEXT],  # no phone/ID numbers kept
                decision=decision,
                candidates=candidates,
                channel=channel,
                status="open",
                at=utcnow(),
            )
        )


def create_handoff(
    engine: Engine,
    sender_id: str,
    reason: str,
    question: str | None,
    procedure_id: str | None,
) -> str:
    """Open a ticket for the operators; returns its short code shown to the citizen."""
    code = "HT-" + secrets.token_hex(3).upper()
    with engine.begin() as connection:
        connection.execute(
            handoff_tickets.insert().values(
                code=code,
                conversation=sender_id,
                channel=channel_of(sender_id),
                reason=reason,
                question=mask_pii(question or "")[:MAX_STORED_TEXT] or None,  # no phone/ID numbers kept
                procedure_id=procedure_id,
                status="open",
                at=utcnow(),
            )
        )
    return code


def _rows(engine: Engine, table: sa.Table, limit: int) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        result = connection.execute(sa.select(table).order_by(table.c.id.desc()).limit(limit))
        return [dict(r._mapping) for r in result]


def list_unanswered(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    return _rows(engine, unanswered, limit)


def list_handoffs(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    return _rows(engine, handoff_tickets, limit)


def list_feedback(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    return _rows(engine, feedback, limit)


def overview_counts(engine: Engine) -> dict[str, int]:
    """Open tickets, open unanswered questions, 👍 and 👎 — the console's overview."""
    with engine.connect() as connection:

        def count(table: sa.Table, *conditions: sa.ColumnElement[bool]) -> int:
            query = sa.select(sa.func.count()).select_from(table).where(*conditions)
            return int(connection.execute(query).scalar_one())

        return {
            "open_tickets": count(handoff_tickets, handoff_tickets.c.status == "open"),
            "unanswered": count(unanswered, unanswered.c.status == "open"),
            "feedback_up": count(feedback, feedback.c.rating == "up"),
            "feedback_down": count(feedback, feedback.c.rating == "down"),
        }
