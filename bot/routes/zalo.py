"""POST /webhooks/zalo: the Zalo OA webhook. Verifies the signature, answers 200 at
once (Zalo retries anything slower than 2 s) and processes the event in the background."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.channels import zalo_signature
from bot.channels.zalo import ZaloRuntime, is_configured
from bot.settings import Settings
from bot.texts import text

log = logging.getLogger(__name__)
router = APIRouter(tags=["zalo"])
MAX_BODY_BYTES = 256 * 1024


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


@router.post("/webhooks/zalo")
async def zalo_webhook(request: Request) -> Any:
    settings: Settings = request.app.state.congdan.settings  # no thread hop: Zalo wants a fast 200
    runtime: ZaloRuntime | None = getattr(request.app.state, "zalo", None)
    if not is_configured(settings) or runtime is None or runtime.channel is None:
        return _error(503, "zalo_not_configured", text("zalo_not_configured"))
    header = request.headers.get(zalo_signature.HEADER)
    if not header:
        return _error(401, "bad_signature", text("zalo_bad_signature"))
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _error(413, "too_large", text("zalo_bad_request"))
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, "too_large", text("zalo_bad_request"))
    try:
        event = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        event = None
    if not isinstance(event, dict):
        return _error(400, "invalid_request", text("zalo_bad_request"))
    secret = settings.zalo_oa_secret_key.get_secret_value() if settings.zalo_oa_secret_key else ""
    timestamp = str(event.get("timestamp", ""))
    if not zalo_signature.is_valid(header, str(settings.zalo_app_id), raw, timestamp, secret):
        log.warning("zalo webhook: bad signature from %s", request.client.host if request.client else "?")
        return _error(401, "bad_signature", text("zalo_bad_signature"))
    runtime.channel.accept(event)
    return {"ok": True}
