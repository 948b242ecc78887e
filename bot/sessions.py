"""Server secrets and web session tokens.

- ``load_or_create_secret``: the configured ``CONGDAN_SESSION_SECRET`` (settings refuse
  one under 32 bytes), else a key generated once into ``var/session.key``: created
  atomically with mode 0600 (written to a private temporary file, then linked into
  place, so two processes starting together agree on one key and nobody ever reads a
  half-written or empty key).
- ``derive_key``: a sub-key for one purpose (dossier keyed hashes, token encryption),
  so the session secret itself is used for one thing only.
- ``SessionTokens``: 128 random bits, signed with a timestamp; a token older than
  ``max_age_s`` (30 days) or not issued by this server is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

_RANDOM = re.compile(r"^[A-Za-z0-9_-]{22}$")
MIN_SECRET_BYTES = 32
SESSION_MAX_AGE_S = 30 * 24 * 3600
KEY_FILE = "session.key"


def _write_new_key(path: Path) -> None:
    """Create ``path`` with a fresh key unless it exists (mode 0600, never partial)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".session.key.")  # mode 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: keep its key
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def load_or_create_secret(configured: str | None, var_dir: Path) -> str:
    """The configured secret, else the one kept in ``var/session.key`` (created once)."""
    if configured:
        return configured
    path = var_dir / KEY_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        _write_new_key(path)
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise RuntimeError(
            f"{path} chứa khóa ngắn hơn {MIN_SECRET_BYTES} byte: xóa tệp để tạo khóa mới "
            "hoặc đặt CONGDAN_SESSION_SECRET."
        )
    return secret


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the server secret."""
    return hmac.new(secret.encode(), f"congdan:{purpose}".encode(), hashlib.sha256).digest()


class SessionTokens:
    def __init__(self, secret: str, max_age_s: int = SESSION_MAX_AGE_S) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="congdan.web-session.v2")
        self.max_age_s = max_age_s

    def issue(self) -> str:
        return str(self._serializer.dumps(secrets.token_urlsafe(16)))

    def sender_id(self, token: object, any_age: bool = False) -> str | None:
        """``web:<random>`` for an unexpired token this gateway issued, else None
        (``any_age``: also an expired one, for the citizen's privacy requests)."""
        if not isinstance(token, str) or len(token) > 200:
            return None
        try:
            random_part = self._serializer.loads(token, max_age=None if any_age else self.max_age_s)
        except BadSignature:  # SignatureExpired is a BadSignature
            return None
        if not isinstance(random_part, str) or not _RANDOM.match(random_part):
            return None
        return f"web:{random_part}"
