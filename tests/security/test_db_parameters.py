"""SQLAlchemy never dumps statement parameters (a citizen's question, a phone number) into
error messages, which end up in logs and tracebacks; what the database server itself says
(PostgreSQL's "Failing row contains …") still reaches the log only through the masks.
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.logs import mask_pii
from knowledge.db import feedback


def test_a_failing_statement_does_not_dump_its_parameters(engine: Engine) -> None:
    with pytest.raises(IntegrityError) as error, engine.begin() as connection:
        connection.execute(
            feedback.insert().values(
                conversation=None, question="gọi tôi 0912345678", rating="up", at=sa.func.now()
            )
        )
    message = str(error.value)
    assert "[SQL parameters hidden due to hide_parameters=True]" in message
    assert "[parameters:" not in message
    assert "0912345678" not in mask_pii(message)
