"""Console fixtures: a gateway app (Rasa deliberately unreachable) on a migrated test
database, and operators of each role."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bot.app import create_app
from bot.console.accounts import add_operator
from bot.settings import Settings
from knowledge.db import create_db_engine, migrate
from tests.channels.conftest import (  # noqa: F401 - Zalo fixtures and a Redis server
    conversation,
    fake_zalo,
    gateway,
    redis_url,
    zalo_settings,
)
from tests.conftest import free_port
from tests.integration.conftest import stack  # noqa: F401 - the real stack, for test_handoff_stack

EDITOR = ("bientap", "mat-khau-bien-tap-1")
ADMIN = ("quantri", "mat-khau-quan-tri-1")


@pytest.fixture
def console_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Its own var/ and SQLite database; no index (the console does not search)."""
    for key in list(os.environ):
        if key.startswith("CONGDAN_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CONGDAN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONGDAN_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CONGDAN_RASA_PORT", str(free_port()))  # closed: Rasa is down
    monkeypatch.setenv("CONGDAN_ACTIONS_PORT", str(free_port()))
    monkeypatch.setenv("CONGDAN_RASA_TIMEOUT_S", "1")
    monkeypatch.setenv("CONGDAN_NOTIFIER_ENABLED", "false")
    config = Settings()
    migrate(config.sqlalchemy_url)
    return config


@pytest.fixture
def console_engine(console_settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(console_settings.sqlalchemy_url)
    add_operator(engine, *EDITOR, role="editor")
    add_operator(engine, *ADMIN, role="admin")
    yield engine
    engine.dispose()


@pytest.fixture
def client(console_settings: Settings, console_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(console_settings)) as test_client:
        yield test_client
