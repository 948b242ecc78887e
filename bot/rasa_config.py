"""Renders the endpoints file Rasa runs with, from settings.

SQLite tracker store under var/ by default; PostgreSQL and a Redis lock store when
configured. Passwords are never written to the file: it names environment variables
(Rasa substitutes ``${VAR}``) that `congdan run` passes to the Rasa process only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from bot.settings import Settings

DB_PASSWORD_ENV = "CONGDAN_RASA_DB_PASSWORD"  # noqa: S105 - a variable name, not a secret
REDIS_PASSWORD_ENV = "CONGDAN_RASA_REDIS_PASSWORD"  # noqa: S105


def endpoints(settings: Settings) -> tuple[dict[str, Any], dict[str, str]]:
    """The endpoints document and the secret environment variables it refers to."""
    secrets: dict[str, str] = {}
    doc: dict[str, Any] = {
        "action_endpoint": {"url": f"{settings.actions_url}/webhook"},
    }
    if settings.database_url and settings.database_url.startswith("postgresql"):
        url = make_url(settings.database_url)
        store: dict[str, Any] = {
            "type": "SQL",
            "dialect": "postgresql",
            "url": url.host or "127.0.0.1",  # Rasa passes `url` as the host
            "port": url.port or 5432,
            "db": url.database,
            "username": url.username,
        }
        if url.password:
            secrets[DB_PASSWORD_ENV] = str(url.password)
            store["password"] = "${" + DB_PASSWORD_ENV + "}"
        doc["tracker_store"] = store
    else:
        doc["tracker_store"] = {"type": "SQL", "dialect": "sqlite", "db": str(settings.tracker_db_path)}
    if settings.redis_url:
        redis = make_url(settings.redis_url.replace("rediss://", "redis://"))
        lock: dict[str, Any] = {
            "type": "redis",
            "url": redis.host or "127.0.0.1",
            "port": redis.port or 6379,
            "db": int(redis.database or 0),
            "key_prefix": "congdan",
        }
        if redis.password:
            secrets[REDIS_PASSWORD_ENV] = str(redis.password)
            lock["password"] = "${" + REDIS_PASSWORD_ENV + "}"
        doc["lock_store"] = lock
    return doc, secrets


def write_endpoints(settings: Settings) -> tuple[Path, dict[str, str]]:
    doc, secrets = endpoints(settings)
    path = settings.var_dir / "run" / "endpoints.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path, secrets
