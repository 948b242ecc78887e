"""The catalogue console's own table on ``knowledge.db.metadata``: ``publish_jobs``, the
background publishes the console polls (state ``running`` | ``done`` | ``failed``, progress
0–1). Created by Alembic revision 0006 (which also adds the catalogue's drafts)."""

from __future__ import annotations

import sqlalchemy as sa

from knowledge.db import metadata

publish_jobs = sa.Table(
    "publish_jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("procedure_id", sa.String(64), nullable=False, index=True),
    sa.Column("revision", sa.Integer),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("progress", sa.Float, nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)
