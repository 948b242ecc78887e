"""A conversation's turns as Rasa's SQL tracker store keeps them (table ``events``): what
the citizen said and what the assistant answered, oldest first, with phone numbers, ID
numbers and dossier codes masked (``bot.logs.mask_pii``).

The tracker store is the SQLite file ``settings.tracker_db_path`` by default, or the
PostgreSQL database of ``CONGDAN_DATABASE_URL`` (see ``bot.rasa_config``): in that case
the gateway's own engine reads it. A missing store or table gives an empty transcript.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.logs import mask_pii
from bot.settings import Settings

log = logging.getLogger(__name__)
MAX_TURNS = 200

_events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)


def _turns(engine: Engine, sender_id: str) -> list[dict[str, Any]]:
    query = (
        sa.select(_events.c.type_name, _events.c.timestamp, _events.c.data)
        .where(_events.c.sender_id == sender_id, _events.c.type_name.in_(("user", "bot")))
        .order_by(_events.c.id.desc())
        .limit(MAX_TURNS)
    )
    with engine.connect() as connection:
        rows = list(connection.execute(query))
    turns = []
    for row in reversed(rows):
        try:
            data = json.loads(row.data or "{}")
        except ValueError:
            continue
        said = data.get("text") if isinstance(data, dict) else None
        if not isinstance(said, str) or not said.strip():
            continue
        at = dt.datetime.fromtimestamp(row.timestamp, dt.UTC).isoformat() if row.timestamp else None
        turns.append(
            {"from": "citizen" if row.type_name == "user" else "bot", "text": mask_pii(said), "at": at}
        )
    return turns


def transcript(settings: Settings, engine: Engine, sender_id: str) -> list[dict[str, Any]]:
    """``[{"from": "citizen"|"bot", "text", "at"}]`` for one conversation (masked)."""
    if settings.database_url and settings.database_url.startswith("postgresql"):
        tracker, own = engine, False
    else:
        if not settings.tracker_db_path.exists():
            return []
        tracker, own = sa.create_engine(f"sqlite:///{settings.tracker_db_path}"), True
    try:
        return _turns(tracker, sender_id)
    except SQLAlchemyError as error:  # no events table yet, or the store is unreachable
        log.warning("could not read the conversation from the tracker store: %s", type(error).__name__)
        return []
    finally:
        if own:
            tracker.dispose()
