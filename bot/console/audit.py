"""The audit log: who did what, when, to what. ``record`` writes one entry, inside the
caller's transaction when given a connection (so that the change and its entry commit
together) or in its own when given an engine. ``entries`` reads them, newest first.

Actions are short dotted names: ``login.ok``, ``login.failed``, ``logout``,
``operator.add``, ``operator.reset``, ``operator.remove``, ``handoff.reply``,
``handoff.close`` (and the catalogue's own: edits, publishes, reverts, imports, exports).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.console.tables import audit_log
from knowledge.db import utcnow

MAX_DETAIL_CHARS = 2000


def record(
    connection_or_engine: Connection | Engine,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    values = {
        "at": utcnow(),
        "actor": actor[:120],
        "action": action[:64],
        "target": target[:255] if target else None,
        "detail": detail,
    }
    if isinstance(connection_or_engine, Engine):
        with connection_or_engine.begin() as connection:
            connection.execute(audit_log.insert().values(**values))
    else:
        connection_or_engine.execute(audit_log.insert().values(**values))


def entries(
    engine: Engine,
    *,
    limit: int = 200,
    before_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> list[dict[str, Any]]:
    """Newest first; ``action`` matches a prefix (``login`` finds ``login.ok`` and ``login.failed``)."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action.startswith(action, autoescape=True))
    with engine.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(query)]
    for row in rows:
        at = row["at"]
        if isinstance(at, dt.datetime):
            row["at"] = (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).isoformat()
    return rows
