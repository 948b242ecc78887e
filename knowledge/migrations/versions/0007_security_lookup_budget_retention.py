"""security: per-dossier lookup budget (unlocks, index by dossier), stored Zalo de-duplication

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:30:00

Tables described in ``bot/portal/tables.py`` and ``bot/channels/dedup.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossier_lookup_unlocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_key", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dossier_lookup_unlocks_dossier_key", "dossier_lookup_unlocks", ["dossier_key"])
    op.create_index("ix_lookup_attempts_dossier_at", "dossier_lookup_attempts", ["dossier_key", "at"])
    op.create_table(
        "webhook_events_seen",
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_key"),
    )
    op.create_index("ix_webhook_events_seen_expires_at", "webhook_events_seen", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_events_seen_expires_at", table_name="webhook_events_seen")
    op.drop_table("webhook_events_seen")
    op.drop_index("ix_lookup_attempts_dossier_at", table_name="dossier_lookup_attempts")
    op.drop_index("ix_dossier_lookup_unlocks_dossier_key", table_name="dossier_lookup_unlocks")
    op.drop_table("dossier_lookup_unlocks")
