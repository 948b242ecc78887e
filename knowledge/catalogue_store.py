"""The catalogue in the database: upserts that keep a revision of every change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from knowledge.db import procedure_revisions, procedures, utcnow
from knowledge.importers.report import ImportReport, ParseResult
from knowledge.models import Procedure

# Fields operators curate that an import from an external source must not erase.
CURATED_FIELDS = ("aliases", "questions", "field", "level", "where", "url", "legal_basis")


def _row(procedure: Procedure) -> dict[str, Any]:
    return {
        "id": procedure.id,
        "name": procedure.name,
        "field": procedure.field,
        "status": procedure.status,
        "data": procedure.model_dump(mode="json"),
        "updated_at": utcnow(),
    }


def _merge_curated(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = dict(new)
    for key in CURATED_FIELDS:
        if not new.get(key) and old.get(key):
            merged[key] = old[key]
    return merged


def save(
    connection: Connection,
    procedure: Procedure,
    actor: str,
    keep_curated: bool = False,
) -> str:
    """Insert or update one procedure with a revision; returns created/updated/unchanged."""
    existing = connection.execute(
        sa.select(procedures.c.data).where(procedures.c.id == procedure.id)
    ).scalar_one_or_none()
    new = procedure.model_dump(mode="json")
    if existing is not None and keep_curated:
        new = _merge_curated(existing, new)
        procedure = Procedure.model_validate(new)
    if existing == new:
        return "unchanged"
    changed = sorted(k for k in new if existing is None or existing.get(k) != new.get(k))
    if existing is None:
        connection.execute(procedures.insert().values(**_row(procedure)))
        action = "create"
    else:
        connection.execute(
            procedures.update().where(procedures.c.id == procedure.id).values(**_row(procedure))
        )
        action = "update"
    connection.execute(
        procedure_revisions.insert().values(
            procedure_id=procedure.id,
            actor=actor,
            action=action,
            changed_fields=changed,
            data=new,
            at=utcnow(),
        )
    )
    return "created" if action == "create" else "updated"


def import_parsed(engine: Engine, parsed: ParseResult, actor: str) -> ImportReport:
    """Apply a parsed file in one transaction (all or nothing) and report what happened."""
    report = ImportReport(rejected=parsed.rejected, merged=parsed.merged, warnings=parsed.warnings)
    with engine.begin() as connection:
        for procedure in parsed.procedures:
            outcome = save(connection, procedure, actor, keep_curated=True)
            getattr(report, outcome).append(procedure.id)
    return report


def delete(engine: Engine, procedure_id: str, actor: str) -> bool:
    with engine.begin() as connection:
        deleted = connection.execute(procedures.delete().where(procedures.c.id == procedure_id))
        if not deleted.rowcount:
            return False
        connection.execute(
            procedure_revisions.insert().values(
                procedure_id=procedure_id,
                actor=actor,
                action="delete",
                changed_fields=[],
                data=None,
                at=utcnow(),
            )
        )
    return True


def load_all(engine: Engine, published_only: bool = False) -> list[Procedure]:
    query = sa.select(procedures.c.data).order_by(procedures.c.id)
    if published_only:
        query = query.where(procedures.c.status == "published")
    with engine.connect() as connection:
        return [Procedure.model_validate(data) for data in connection.execute(query).scalars()]


def get(engine: Engine, procedure_id: str) -> Procedure | None:
    with engine.connect() as connection:
        data = connection.execute(
            sa.select(procedures.c.data).where(procedures.c.id == procedure_id)
        ).scalar_one_or_none()
    return Procedure.model_validate(data) if data is not None else None


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(procedures)).scalar_one())


def revisions(engine: Engine, procedure_id: str) -> list[dict[str, Any]]:
    query = (
        sa.select(procedure_revisions)
        .where(procedure_revisions.c.procedure_id == procedure_id)
        .order_by(procedure_revisions.c.id)
    )
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(query)]


def seed_if_empty(engine: Engine, seed: Iterable[Procedure]) -> int:
    """Load the repo's seed catalogue into an empty database; returns how many were added."""
    if count(engine):
        return 0
    with engine.begin() as connection:
        added = 0
        for procedure in seed:
            save(connection, procedure, actor="seed")
            added += 1
    return added
