"""Tables owned by the portal package (on ``knowledge.db.metadata``; created by migration 0007).

- ``dossier_lookup_unlocks``: an operator lifted the lock of one dossier (keyed hash of
  the code, who, when); failures before the latest unlock no longer count.
- an index on ``dossier_lookup_attempts (dossier_key, at)`` for the per-dossier budget,
  which counts failures across every conversation.
"""

from __future__ import annotations

import sqlalchemy as sa

from knowledge.db import dossier_lookup_attempts, metadata

dossier_lookup_unlocks = sa.Table(
    "dossier_lookup_unlocks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dossier_key", sa.String(64), nullable=False, index=True),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

attempts_by_dossier = sa.Index(
    "ix_lookup_attempts_dossier_at", dossier_lookup_attempts.c.dossier_key, dossier_lookup_attempts.c.at
)
