"""Audit entries for security and privacy events (``dossier.locked``, ``dossier.unlock``,
``privacy.export``, ``privacy.delete``, ``privacy.purge``), written with the console's
``bot.console.audit.record`` so that ``GET /api/admin/audit`` shows them beside logins
and edits.

An audit failure is logged and never breaks the action it records.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)


def audit(engine: Engine, actor: str, action: str, target: str | None, detail: dict[str, Any]) -> None:
    from bot.console.audit import record

    try:
        record(engine, actor, action, target, detail)
    except SQLAlchemyError:
        log.exception("could not write the audit entry for %s", action)
