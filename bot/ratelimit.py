"""Rate limits on the public chat and search APIs, per web session and per client address.

Built on the `limits` library: a moving window in Redis when ``CONGDAN_REDIS_URL`` is set
(shared by every gateway instance), in process memory otherwise. Over the limit, the
request is answered 429 with a Vietnamese message and ``Retry-After``. If Redis is down,
requests are let through (logged): a broken limiter must not silence the assistant.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from bot.settings import Settings
from bot.texts import text

log = logging.getLogger(__name__)
KEY_PREFIX = "congdan:ratelimit"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int = 0


class RateLimiter:
    """Checks and counts hits for a named scope ("session", "ip") and an identifier."""

    def __init__(
        self,
        limits_by_scope: dict[str, str],
        redis_url: str | None = None,
        key_prefix: str = KEY_PREFIX,
    ) -> None:
        self.items: dict[str, RateLimitItem] = {scope: parse(spec) for scope, spec in limits_by_scope.items()}
        self.storage: Storage
        if redis_url:
            self.storage = RedisStorage(
                "async+" + redis_url, implementation="redispy", key_prefix=key_prefix, wrap_exceptions=True
            )
        else:
            self.storage = MemoryStorage()
        self.backend = "redis" if redis_url else "memory"
        self._limiter = MovingWindowRateLimiter(self.storage)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(
            {"session": settings.rate_limit_session, "ip": settings.rate_limit_ip},
            settings.redis_url,
        )

    async def hit(self, scope: str, identifier: str) -> Decision:
        item = self.items.get(scope)
        if item is None:
            return Decision(True)
        try:
            if await self._limiter.hit(item, scope, identifier):
                return Decision(True)
            reset_at, _remaining = await self._limiter.get_window_stats(item, scope, identifier)
        except StorageError as error:
            log.warning("rate-limit storage unavailable, letting the request through: %s", error)
            return Decision(True)
        return Decision(False, max(1, math.ceil(reset_at - time.time())))

    async def reset(self) -> None:
        try:
            await self.storage.reset()
        except StorageError as error:  # pragma: no cover - only when Redis is down
            log.warning("could not reset rate limits: %s", error)


def _limiter(request: Request) -> RateLimiter | None:
    return getattr(request.app.state, "rate_limiter", None)


def _refuse(decision: Decision) -> HTTPException:
    return HTTPException(
        status_code=429,
        detail=text("rate_limited"),
        headers={"Retry-After": str(decision.retry_after_s)},
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def limit_by_client(request: Request) -> None:
    """FastAPI dependency: the per-address limit (uvicorn's proxy headers give the real address)."""
    limiter = _limiter(request)
    if limiter is None:
        return
    decision = await limiter.hit("ip", client_address(request))
    if not decision.allowed:
        log.info("rate limit (address) on %s", request.url.path)
        raise _refuse(decision)


async def limit_by_session(request: Request, sender_id: str) -> None:
    """The per-conversation limit, keyed on the server-verified sender id."""
    limiter = _limiter(request)
    if limiter is None:
        return
    decision = await limiter.hit("session", sender_id)
    if not decision.allowed:
        log.info("rate limit (session) on %s", request.url.path)
        raise _refuse(decision)
