"""zalo_users.last_buttons: the numbered choices last shown to a Zalo user

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("zalo_users") as batch:
        batch.add_column(sa.Column("last_buttons", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("zalo_users") as batch:
        batch.drop_column("last_buttons")
