"""Shared, lazily created resources of the action server: settings, search, database."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.engine import Engine

from bot.settings import Settings, get_settings
from knowledge.db import create_db_engine
from knowledge.encoders import create_encoder
from knowledge.search import Searcher


def settings() -> Settings:
    return get_settings()


@lru_cache(maxsize=1)
def searcher() -> Searcher:
    config = settings()
    return Searcher(
        config.index_root,
        encoder_factory=lambda: create_encoder(config.encoder, config.encoder_model_path),
    )


@lru_cache(maxsize=1)
def engine() -> Engine:
    return create_db_engine(settings().sqlalchemy_url)


def reset() -> None:
    """Forget cached resources (after settings changed, e.g. in tests)."""
    get_settings.cache_clear()
    searcher.cache_clear()
    engine.cache_clear()
