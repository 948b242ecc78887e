"""Publishing a procedure's draft: the admin's ``POST /api/admin/procedures/{id}/publish``.

``Publisher.start(procedure_id, actor)`` checks there is something to publish, records a
job (``bot.console.jobs``) and returns its id at once; one background worker per gateway
runs the jobs one after the other:

1. read the draft (the published record still answers citizens);
2. ``knowledge.index.update`` builds the next index version from the current one,
   encoding only the changed procedure's new passage texts (a full ``index.build`` when
   there is no current index of this encoder);
3. just before the new version becomes ``CURRENT``, one transaction makes the draft the
   published record and writes the audit entry; if that fails, the index is left as it was;
4. ``CURRENT`` is replaced: the gateway's search and the running action server swap to the
   new version on their next query, without a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import Request
from sqlalchemy.engine import Engine

from bot.console import audit, jobs
from bot.console.catalogue import CatalogueError
from knowledge import catalogue_store, index
from knowledge.encoders import Encoder
from knowledge.models import Procedure

log = logging.getLogger(__name__)
FAILED_MESSAGE = "Công bố không thành công; bản đã công bố trước đó vẫn được dùng. Anh/Chị vui lòng thử lại."


class Publisher:
    """Runs publish jobs one at a time (each builds on the index the previous one made)."""

    def __init__(self, engine: Engine, index_root: Path, encoder: Callable[[], Encoder]) -> None:
        self.engine = engine
        self.index_root = index_root
        self.encoder = encoder
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")

    def pending(self, procedure_id: str) -> tuple[Procedure, int] | None:
        """The draft that a publish would make public, or None if there is none."""
        with self.engine.begin() as connection:
            record = catalogue_store.latest(connection, procedure_id)
            if record is None:
                raise CatalogueError(404, f"Không tìm thấy thủ tục {procedure_id}.")
            if record.status == "published":
                return None
            return Procedure.model_validate({**record.data, "status": "published"}), record.revision

    def start(self, procedure_id: str, actor: str) -> str:
        pending = self.pending(procedure_id)
        if pending is None:
            raise CatalogueError(409, f"Thủ tục {procedure_id} không có bản nháp nào chờ công bố.")
        job_id = jobs.create(self.engine, procedure_id, actor, pending[1])
        self._worker.submit(self.run, job_id, procedure_id, actor)
        return job_id

    def run(self, job_id: str, procedure_id: str, actor: str) -> None:
        try:
            self._publish(job_id, procedure_id, actor)
        except Exception:
            log.exception("publish job %s of %s failed", job_id, procedure_id)
            jobs.finish(self.engine, job_id, "failed", FAILED_MESSAGE)
        else:
            jobs.finish(self.engine, job_id, "done")

    def _publish(self, job_id: str, procedure_id: str, actor: str) -> None:
        pending = self.pending(procedure_id)
        if pending is None:  # published meanwhile by an earlier job
            return
        procedure, revision = pending
        jobs.advance(self.engine, job_id, 0.1)
        encoder = self.encoder()
        meta = index.read_meta(self.index_root) or {}
        total = max(int(meta.get("dense_vectors") or 0), 1)
        done = 0

        def progress(passages: int) -> None:
            nonlocal done
            done += passages
            jobs.advance(self.engine, job_id, 0.1 + 0.7 * min(done / total, 1.0))

        def commit() -> None:
            jobs.advance(self.engine, job_id, 0.9)
            with self.engine.begin() as connection:
                published = catalogue_store.publish_draft(connection, procedure_id, actor)
                if published is None or published[1] != revision:
                    raise RuntimeError(f"the draft of {procedure_id} changed while it was being published")
                audit.record(
                    connection,
                    actor,
                    "catalogue.publish",
                    procedure_id,
                    {"revision": revision, "job": job_id},
                )

        try:
            index.update([procedure], [], encoder, self.index_root, progress=progress, before_publish=commit)
        except index.UpdateNotPossible:
            catalogue = [
                p for p in catalogue_store.load_all(self.engine, published_only=True) if p.id != procedure_id
            ]
            index.build(
                [*catalogue, procedure], encoder, self.index_root, progress=progress, before_publish=commit
            )

    def shutdown(self) -> None:
        self._worker.shutdown(wait=True)


_lock = threading.Lock()


def publisher_of(request: Request) -> Publisher:
    """The app's publisher, made on first use with the gateway's engine, index and encoder."""
    app_state = request.app.state
    with _lock:
        existing: Publisher | None = getattr(app_state, "catalogue_publisher", None)
        if existing is None:
            state = app_state.congdan
            existing = Publisher(state.engine, state.settings.index_root, state.searcher.encoder)
            app_state.catalogue_publisher = existing
    return existing
