"""dossier lookup attempts (verification tries and lockout)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossier_lookup_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation", sa.String(length=128), nullable=False),
        sa.Column("dossier_key", sa.String(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dossier_lookup_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_lookup_attempts_conversation_at", ["conversation", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dossier_lookup_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_lookup_attempts_conversation_at")
    op.drop_table("dossier_lookup_attempts")
