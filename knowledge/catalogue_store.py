"""The catalogue in the database: upserts that keep a numbered revision of every change.

Two ways in:

- ``save`` / ``import_parsed`` (seed, ``congdan import``) write the published record
  (``procedures``) directly, as before.
- ``save_draft`` / ``import_drafts`` / ``revert`` (the console) write a new revision that
  becomes the procedure's draft (``procedure_drafts``), beside the published record, which
  keeps answering citizens until ``publish_draft`` makes the draft the published record.

Revisions are numbered 1, 2, … per procedure. ``record`` / ``records`` give what the console
shows: the latest content (the draft if there is one), its revision number and status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from knowledge.db import procedure_drafts, procedure_revisions, procedures, utcnow
from knowledge.importers.report import ImportReport, ParseResult
from knowledge.models import Procedure

# Keys of a stored record that say where it is in its life, not what it says.
LIFECYCLE_KEYS = ("status",)

# Fields operators curate that an import from an external source must not erase.
CURATED_FIELDS = ("aliases", "questions", "field", "level", "where", "url", "legal_basis")


def _row(procedure: Procedure, revision: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": procedure.id,
        "name": procedure.name,
        "field": procedure.field,
        "status": procedure.status,
        "data": procedure.model_dump(mode="json"),
        "updated_at": utcnow(),
    }
    if revision is not None:
        row["revision"] = revision
    return row


def _next_number(connection: Connection, procedure_id: str) -> int:
    last = connection.execute(
        sa.select(sa.func.max(procedure_revisions.c.number)).where(
            procedure_revisions.c.procedure_id == procedure_id
        )
    ).scalar_one_or_none()
    return int(last or 0) + 1


def _add_revision(
    connection: Connection,
    procedure_id: str,
    actor: str,
    action: str,
    changed: list[str],
    data: dict[str, Any] | None,
    note: str | None = None,
) -> int:
    number = _next_number(connection, procedure_id)
    connection.execute(
        procedure_revisions.insert().values(
            procedure_id=procedure_id,
            number=number,
            actor=actor,
            action=action,
            changed_fields=changed,
            data=data,
            note=note,
            at=utcnow(),
        )
    )
    return number


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
    action = "create" if existing is None else "update"
    number = _add_revision(connection, procedure.id, actor, action, changed, new)
    if existing is None:
        connection.execute(procedures.insert().values(**_row(procedure, number)))
    else:
        connection.execute(
            procedures.update().where(procedures.c.id == procedure.id).values(**_row(procedure, number))
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
        connection.execute(procedure_drafts.delete().where(procedure_drafts.c.procedure_id == procedure_id))
        _add_revision(connection, procedure_id, actor, "delete", [], None)
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


# --- drafts, publishing and history (the console) ----------------------------------------


@dataclass
class Record:
    """What the console shows of one procedure: its latest content (the draft when there is
    one), that content's revision number, and ``status``: ``draft`` while something is not
    published yet, else ``published``."""

    data: dict[str, Any]
    revision: int
    status: str
    published_revision: int | None
    updated_at: dt.datetime | None

    @property
    def id(self) -> str:
        return str(self.data["id"])


def content(data: dict[str, Any] | None) -> dict[str, Any]:
    """A stored record without its lifecycle keys: what an edit can change."""
    return {k: v for k, v in (data or {}).items() if k not in LIFECYCLE_KEYS}


def latest(connection: Connection, procedure_id: str) -> Record | None:
    """The record as ``record`` gives it, read on the caller's connection."""
    draft = connection.execute(
        sa.select(procedure_drafts).where(procedure_drafts.c.procedure_id == procedure_id)
    ).first()
    published = connection.execute(
        sa.select(
            procedures.c.data, procedures.c.revision, procedures.c.status, procedures.c.updated_at
        ).where(procedures.c.id == procedure_id)
    ).first()
    published_revision = (
        published.revision if published is not None and published.status == "published" else None
    )
    if draft is not None:
        return Record(dict(draft.data), int(draft.revision), "draft", published_revision, draft.updated_at)
    if published is None:
        return None
    return Record(
        dict(published.data),
        int(published.revision or 0),
        str(published.status),
        published_revision,
        published.updated_at,
    )


def record(engine: Engine, procedure_id: str) -> Record | None:
    with engine.connect() as connection:
        return latest(connection, procedure_id)


def records(engine: Engine) -> list[Record]:
    """Every procedure (published or draft only), by id."""
    with engine.connect() as connection:
        drafts = {row.procedure_id: row for row in connection.execute(sa.select(procedure_drafts))}
        out: dict[str, Record] = {}
        for row in connection.execute(
            sa.select(
                procedures.c.id,
                procedures.c.data,
                procedures.c.revision,
                procedures.c.status,
                procedures.c.updated_at,
            )
        ):
            published_revision = row.revision if row.status == "published" else None
            draft = drafts.pop(row.id, None)
            if draft is not None:
                out[row.id] = Record(
                    dict(draft.data), int(draft.revision), "draft", published_revision, draft.updated_at
                )
            else:
                out[row.id] = Record(
                    dict(row.data),
                    int(row.revision or 0),
                    str(row.status),
                    published_revision,
                    row.updated_at,
                )
        for procedure_id, draft in drafts.items():
            out[procedure_id] = Record(dict(draft.data), int(draft.revision), "draft", None, draft.updated_at)
    return [out[k] for k in sorted(out)]


def save_draft(
    connection: Connection,
    procedure: Procedure,
    actor: str,
    action: str = "edit",
    note: str | None = None,
) -> tuple[str, int]:
    """Store ``procedure`` as a new revision that becomes its draft.

    Returns (outcome, revision): ``created`` (a new procedure), ``updated``, or ``unchanged``
    (the content equals the latest revision: no revision is written)."""
    current = latest(connection, procedure.id)
    new = procedure.model_copy(update={"status": "draft"}).model_dump(mode="json")
    if current is not None and content(current.data) == content(new):
        return "unchanged", current.revision
    changed = sorted(k for k in content(new) if current is None or current.data.get(k) != new.get(k))
    number = _add_revision(connection, procedure.id, actor, action, changed, new, note)
    values = {
        "revision": number,
        "name": procedure.name,
        "data": new,
        "actor": actor,
        "updated_at": utcnow(),
    }
    updated = connection.execute(
        procedure_drafts.update().where(procedure_drafts.c.procedure_id == procedure.id).values(**values)
    )
    if not updated.rowcount:
        connection.execute(procedure_drafts.insert().values(procedure_id=procedure.id, **values))
    return ("created" if current is None else "updated"), number


def import_drafts(engine: Engine, parsed: ParseResult, actor: str) -> ImportReport:
    """A parsed file as drafts, in one transaction (all or nothing); curated fields an
    import leaves empty keep their current values."""
    report = ImportReport(rejected=parsed.rejected, merged=parsed.merged, warnings=parsed.warnings)
    with engine.begin() as connection:
        for procedure in parsed.procedures:
            current = latest(connection, procedure.id)
            if current is not None:
                merged = _merge_curated(current.data, procedure.model_dump(mode="json"))
                procedure = Procedure.model_validate(merged)
            outcome, _ = save_draft(connection, procedure, actor, action="import")
            getattr(report, outcome).append(procedure.id)
    return report


def publish_draft(connection: Connection, procedure_id: str, actor: str) -> tuple[Procedure, int] | None:
    """Make the procedure's draft its published record (inside the caller's transaction).

    Returns the published procedure and its revision, or None when there is nothing to
    publish (no draft, and the stored record is already published)."""
    draft = connection.execute(
        sa.select(procedure_drafts).where(procedure_drafts.c.procedure_id == procedure_id)
    ).first()
    if draft is not None:
        data, number = dict(draft.data), int(draft.revision)
    else:
        stored = connection.execute(
            sa.select(procedures.c.data, procedures.c.revision, procedures.c.status).where(
                procedures.c.id == procedure_id
            )
        ).first()
        if stored is None or stored.status == "published":
            return None
        data, number = dict(stored.data), int(stored.revision or 0)
    procedure = Procedure.model_validate({**data, "status": "published"})
    exists = connection.execute(sa.select(procedures.c.id).where(procedures.c.id == procedure_id)).first()
    if exists is None:
        connection.execute(procedures.insert().values(**_row(procedure, number)))
    else:
        connection.execute(
            procedures.update().where(procedures.c.id == procedure_id).values(**_row(procedure, number))
        )
    connection.execute(procedure_drafts.delete().where(procedure_drafts.c.procedure_id == procedure_id))
    connection.execute(
        procedure_revisions.update()
        .where(procedure_revisions.c.procedure_id == procedure_id, procedure_revisions.c.number == number)
        .values(published_at=utcnow(), published_by=actor)
    )
    return procedure, number


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Field by field: ``[{"field", "before", "after"}]`` for every content key that differs."""
    old, new = content(before), content(after)
    return [
        {"field": key, "before": old.get(key), "after": new.get(key)}
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat(timespec="seconds")
    return None


def history(engine: Engine, procedure_id: str) -> list[dict[str, Any]]:
    """Newest first: ``revision``, ``actor``, ``action``, ``at``, ``note``, ``published_at``,
    ``published_by``, ``changed_fields`` and ``diff`` against the revision before it."""
    rows = revisions(engine, procedure_id)
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for row in rows:
        out.append(
            {
                "revision": row["number"],
                "actor": row["actor"],
                "action": row["action"],
                "at": _iso(row["at"]),
                "note": row.get("note"),
                "published_at": _iso(row.get("published_at")),
                "published_by": row.get("published_by"),
                "changed_fields": row["changed_fields"],
                "diff": diff(previous, row["data"]),
            }
        )
        previous = row["data"]
    return out[::-1]


def revision_data(engine: Engine, procedure_id: str, number: int) -> dict[str, Any] | None:
    with engine.connect() as connection:
        data = connection.execute(
            sa.select(procedure_revisions.c.data).where(
                procedure_revisions.c.procedure_id == procedure_id, procedure_revisions.c.number == number
            )
        ).scalar_one_or_none()
    return dict(data) if data is not None else None


def revert(engine: Engine, procedure_id: str, number: int, actor: str) -> tuple[str, int] | None:
    """Make revision ``number`` the procedure's new draft (a new revision); None if no such
    revision holds content."""
    data = revision_data(engine, procedure_id, number)
    if data is None:
        return None
    procedure = Procedure.model_validate(data)
    with engine.begin() as connection:
        return save_draft(connection, procedure, actor, action="revert", note=f"khôi phục bản {number}")
