"""catalogue drafts and publish jobs

Every save from the console is a numbered revision of its procedure; the latest unpublished
one is the procedure's draft (``procedure_drafts``), kept beside the published record in
``procedures`` (which keeps answering citizens until an admin publishes). ``procedures.revision``
is the published revision's number; a revision row remembers who published it and when.
``publish_jobs``: the background publishes (state, progress) the console polls.

Existing revisions are numbered 1, 2, … per procedure in the order they were written.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("procedure_revisions") as batch:
        batch.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("note", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("published_by", sa.String(length=120), nullable=True))
    with op.batch_alter_table("procedures") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=True))

    connection = op.get_bind()
    revisions = sa.table(
        "procedure_revisions",
        sa.column("id", sa.Integer()),
        sa.column("procedure_id", sa.String()),
        sa.column("number", sa.Integer()),
    )
    procedures = sa.table("procedures", sa.column("id", sa.String()), sa.column("revision", sa.Integer()))
    numbers: dict[str, int] = {}
    rows = connection.execute(
        sa.select(revisions.c.id, revisions.c.procedure_id).order_by(revisions.c.id)
    ).all()
    for row_id, procedure_id in rows:
        numbers[procedure_id] = numbers.get(procedure_id, 0) + 1
        connection.execute(
            revisions.update().where(revisions.c.id == row_id).values(number=numbers[procedure_id])
        )
    for procedure_id, number in numbers.items():
        connection.execute(procedures.update().where(procedures.c.id == procedure_id).values(revision=number))
    op.create_index(
        "ix_procedure_revisions_procedure_number", "procedure_revisions", ["procedure_id", "number"]
    )

    op.create_table(
        "procedure_drafts",
        sa.Column("procedure_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("procedure_id"),
    )
    op.create_table(
        "publish_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("procedure_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_publish_jobs_procedure_id", "publish_jobs", ["procedure_id"])


def downgrade() -> None:
    op.drop_index("ix_publish_jobs_procedure_id", table_name="publish_jobs")
    op.drop_table("publish_jobs")
    op.drop_table("procedure_drafts")
    op.drop_index("ix_procedure_revisions_procedure_number", table_name="procedure_revisions")
    with op.batch_alter_table("procedures") as batch:
        batch.drop_column("revision")
    with op.batch_alter_table("procedure_revisions") as batch:
        batch.drop_column("published_by")
        batch.drop_column("published_at")
        batch.drop_column("note")
        batch.drop_column("number")
