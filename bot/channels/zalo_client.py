"""The one client of the Zalo OA OpenAPI: send a customer-service text message, and
refresh the access token when Zalo says it expired (then retry once).

Zalo answers HTTP 200 with a JSON ``error`` code; 0 is success. ``-216`` (access token
invalid) and ``-124`` (access token expired) trigger a refresh at
``{oauth_base}/v4/oa/access_token``. A 5xx, a 429, a timeout or a network error raise
``ZaloUnavailable`` (the outbox retries later); any other error code raises
``ZaloRejected`` (retrying would not help)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import httpx

from bot.channels.zalo_tokens import TokenLease, TokenPair, TokenStore
from knowledge.db import utcnow

log = logging.getLogger(__name__)
EXPIRED_TOKEN_CODES = frozenset({-216, -124})
REFRESH_MARGIN = dt.timedelta(minutes=2)


class ZaloError(RuntimeError):
    pass


class ZaloUnavailable(ZaloError):
    """Zalo could not be reached or failed on its side: try again later."""


class ZaloRejected(ZaloError):
    """Zalo refused the message (error code != 0): retrying will not help."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Zalo error {code}: {message}")
        self.code = code


class ZaloClient:
    def __init__(
        self,
        api_base: str,
        oauth_base: str,
        app_id: str,
        app_secret: str,
        tokens: TokenStore,
        timeout_s: float = 5.0,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.oauth_base = oauth_base.rstrip("/")
        self.app_id = app_id
        self._app_secret = app_secret
        self.tokens = tokens
        self._refresh_lock = asyncio.Lock()
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=min(2.0, timeout_s)))

    async def send_text(self, user_id: str, text: str) -> str:
        """Send one text; returns Zalo's message id."""
        pair = await asyncio.to_thread(self.tokens.load)
        if pair is None:
            raise ZaloUnavailable("no access token configured (CONGDAN_ZALO_ACCESS_TOKEN)")
        access_token = pair.access_token
        if pair.expires_at is not None and utcnow() >= pair.expires_at - REFRESH_MARGIN:
            access_token = await self.refresh(access_token)
        body = await self._post_message(access_token, user_id, text)
        if _error_code(body) in EXPIRED_TOKEN_CODES:
            log.info("Zalo access token expired (error %s); refreshing", _error_code(body))
            body = await self._post_message(await self.refresh(access_token), user_id, text)
        code = _error_code(body)
        if code != 0:
            raise ZaloRejected(code, str(body.get("message", "")))
        data = body.get("data")
        return str(data.get("message_id", "")) if isinstance(data, dict) else ""

    async def refresh(self, stale_access_token: str) -> str:
        """A fresh access token. One refresh at a time, in this process (asyncio lock) and
        across instances (the token row stays locked until the new pair is stored); a
        caller that waited for another's refresh reuses its result (the refresh token is
        single-use)."""
        async with self._refresh_lock:
            lease = await asyncio.to_thread(self.tokens.lease)
            try:
                return await self._refresh(lease, stale_access_token)
            finally:
                await asyncio.to_thread(lease.close)

    async def _refresh(self, lease: TokenLease, stale_access_token: str) -> str:
        current = lease.current
        if current is None or not current.refresh_token:
            raise ZaloUnavailable("no refresh token configured (CONGDAN_ZALO_REFRESH_TOKEN)")
        if current.access_token != stale_access_token:
            return current.access_token
        try:
            response = await self._http.post(
                f"{self.oauth_base}/v4/oa/access_token",
                headers={"secret_key": self._app_secret},
                data={
                    "app_id": self.app_id,
                    "grant_type": "refresh_token",
                    "refresh_token": current.refresh_token,
                },
            )
        except httpx.HTTPError as error:
            raise ZaloUnavailable(f"token refresh: {type(error).__name__}") from error
        body = _json(response)
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            raise ZaloUnavailable(
                f"token refresh refused: {body.get('error', '?')} {body.get('error_description', '')}".strip()
            )
        try:
            expires_at: dt.datetime | None = utcnow() + dt.timedelta(seconds=int(body["expires_in"]))
        except (KeyError, TypeError, ValueError):
            expires_at = None
        await asyncio.to_thread(lease.save, TokenPair(access, refresh, expires_at))
        log.info("Zalo access token refreshed; new refresh token stored")
        return access

    async def _post_message(self, access_token: str, user_id: str, text: str) -> dict[str, Any]:
        try:
            response = await self._http.post(
                f"{self.api_base}/v3.0/oa/message/cs",
                headers={"access_token": access_token},
                json={"recipient": {"user_id": user_id}, "message": {"text": text}},
            )
        except httpx.HTTPError as error:
            raise ZaloUnavailable(type(error).__name__) from error
        return _json(response)

    async def aclose(self) -> None:
        await self._http.aclose()


def _json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 500 or response.status_code == 429:
        raise ZaloUnavailable(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise ZaloRejected(response.status_code, "HTTP error")
    try:
        body = response.json()
    except ValueError:
        raise ZaloUnavailable(f"HTTP {response.status_code}, not JSON") from None
    if not isinstance(body, dict):
        raise ZaloUnavailable(f"HTTP {response.status_code}, unexpected body")
    return body


def _error_code(body: dict[str, Any]) -> int:
    try:
        return int(body.get("error", 0))
    except (TypeError, ValueError):
        return -1
