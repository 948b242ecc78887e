"""Server-issued web session tokens: 128 random bits, signed so that the gateway can
verify a token it issued without storing it, and never accept one it did not."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

_RANDOM = re.compile(r"^[A-Za-z0-9_-]{22}$")


def load_or_create_secret(configured: str | None, var_dir: Path) -> str:
    """The configured secret, else one generated once and kept in var/ (mode 0600)."""
    if configured:
        return configured
    path = var_dir / "session.key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(secret, encoding="utf-8")
    return secret


class SessionTokens:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="congdan.web-session")

    def issue(self) -> str:
        return str(self._serializer.dumps(secrets.token_urlsafe(16)))

    def sender_id(self, token: object) -> str | None:
        """``web:<random>`` for a token this gateway issued, else None."""
        if not isinstance(token, str) or len(token) > 200:
            return None
        try:
            random_part = self._serializer.loads(token)
        except BadSignature:
            return None
        if not isinstance(random_part, str) or not _RANDOM.match(random_part):
            return None
        return f"web:{random_part}"
