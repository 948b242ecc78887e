"""The Zalo webhook signature: ``X-ZEvent-Signature: mac=<hex>`` where hex is the plain
SHA-256 of ``app_id + raw_body + timestamp + oa_secret_key`` (not an HMAC)."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-ZEvent-Signature"


def signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The header value Zalo sends for this delivery."""
    digest = hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + oa_secret_key.encode())
    return "mac=" + digest.hexdigest()


def is_valid(header: str | None, app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> bool:
    """Constant-time check of the header against the expected signature."""
    if not header:
        return False
    expected = signature(app_id, raw_body, timestamp, oa_secret_key)
    return hmac.compare_digest(header.strip().lower().encode(), expected.encode())
