"""Publish jobs in the database, so that any gateway instance can answer
``GET /api/admin/jobs/{job}`` → ``{"job", "state", "progress", ...}``.

``state`` is ``running``, ``done`` or ``failed``; ``progress`` goes from 0 to 1. A job still
``running`` long after it started belongs to a process that died: it reads as ``failed``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.console.catalogue_tables import publish_jobs
from knowledge.db import utcnow

STALE_AFTER = dt.timedelta(minutes=30)
STALE_MESSAGE = "Tiến trình công bố đã dừng giữa chừng (máy chủ khởi động lại). Anh/Chị vui lòng công bố lại."


def create(engine: Engine, procedure_id: str, actor: str, revision: int | None) -> str:
    job_id = uuid.uuid4().hex
    with engine.begin() as connection:
        connection.execute(
            publish_jobs.insert().values(
                id=job_id,
                procedure_id=procedure_id,
                revision=revision,
                actor=actor,
                state="running",
                progress=0.0,
                created_at=utcnow(),
            )
        )
    return job_id


def advance(engine: Engine, job_id: str, progress: float) -> None:
    with engine.begin() as connection:
        connection.execute(
            publish_jobs.update()
            .where(publish_jobs.c.id == job_id, publish_jobs.c.state == "running")
            .values(progress=round(min(max(progress, 0.0), 0.99), 3))
        )


def finish(engine: Engine, job_id: str, state: str, message: str | None = None) -> None:
    with engine.begin() as connection:
        connection.execute(
            publish_jobs.update()
            .where(publish_jobs.c.id == job_id)
            .values(
                state=state,
                progress=1.0 if state == "done" else publish_jobs.c.progress,
                message=message,
                finished_at=utcnow(),
            )
        )


def _aware(value: Any) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def get(engine: Engine, job_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(publish_jobs).where(publish_jobs.c.id == job_id)).first()
    if row is None:
        return None
    created, finished = _aware(row.created_at), _aware(row.finished_at)
    state, message = row.state, row.message
    if state == "running" and created is not None and utcnow() - created > STALE_AFTER:
        state, message = "failed", STALE_MESSAGE
    return {
        "job": row.id,
        "state": state,
        "progress": float(row.progress),
        "procedure_id": row.procedure_id,
        "revision": row.revision,
        "actor": row.actor,
        "message": message,
        "created_at": created.isoformat(timespec="seconds") if created else None,
        "finished_at": finished.isoformat(timespec="seconds") if finished else None,
    }
