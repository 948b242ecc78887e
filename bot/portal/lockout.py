"""The per-dossier lock as a service: the key that hashes dossier codes, and
``unlock_dossier`` for the operator console (audited).

The key is derived from the server secret (``CONGDAN_SESSION_SECRET`` or
``var/session.key``), so the gateway and the action server hash a code the same way and
nobody without the secret can test a guess against the stored hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.portal import attempts
from bot.portal.codes import find_code
from bot.security_audit import audit
from bot.sessions import derive_key, load_or_create_secret
from bot.settings import Settings, get_settings


def lookup_key(settings: Settings) -> bytes:
    configured = settings.session_secret.get_secret_value() if settings.session_secret else None
    return _derived(configured, settings.var_dir)


@lru_cache(maxsize=8)
def _derived(configured: str | None, var_dir: Path) -> bytes:
    return derive_key(load_or_create_secret(configured, var_dir), "dossier-lookup")


def key_of(code: str, settings: Settings) -> str:
    return attempts.dossier_key(code, lookup_key(settings))


@dataclass(frozen=True)
class Unlocked:
    code: str
    forgiven: int  # failed tries (all conversations, last 24 h) that no longer count


def unlock_dossier(engine: Engine, code: str, actor: str, settings: Settings | None = None) -> Unlocked:
    """Lift the lock of one dossier for everyone; raises ValueError for a malformed code."""
    normalised = find_code(code)
    if normalised is None:
        raise ValueError("mã hồ sơ không đúng dạng")
    config = settings or get_settings()
    forgiven = attempts.unlock(engine, key_of(normalised, config), actor)
    audit(engine, actor, "dossier.unlock", normalised, {"forgiven": forgiven})
    return Unlocked(normalised, forgiven)
