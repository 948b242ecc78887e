"""Webhook de-duplication: remember an event key for a while and say whether it is new.

Redis ``SET NX EX`` when ``CONGDAN_REDIS_URL`` is set (shared by every gateway
instance), an in-process dictionary with expiry otherwise. If Redis fails, the
in-process memory takes over (logged): a broken cache must not silence the bot."""

from __future__ import annotations

import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
KEY_PREFIX = "congdan:zalo:event:"


class Deduplicator:
    def __init__(self, redis_url: str | None = None, ttl_s: int = 24 * 3600, max_keys: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._seen: dict[str, float] = {}
        self._redis: aioredis.Redis | None = (
            aioredis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
            if redis_url
            else None
        )

    @property
    def backend(self) -> str:
        return "redis" if self._redis is not None else "memory"

    async def first_time(self, key: str) -> bool:
        """True exactly once per key within the expiry."""
        if self._redis is not None:
            try:
                return bool(await self._redis.set(KEY_PREFIX + key, "1", nx=True, ex=self.ttl_s))
            except (RedisError, OSError) as error:
                log.warning(
                    "Redis de-duplication unavailable (%s); using process memory", type(error).__name__
                )
        return self._remember(key)

    def _remember(self, key: str) -> bool:
        now = time.monotonic()
        expiry = self._seen.get(key)
        if expiry is not None and expiry > now:
            return False
        if len(self._seen) >= self.max_keys:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
            while len(self._seen) >= self.max_keys:  # still full: forget the oldest
                self._seen.pop(next(iter(self._seen)))
        self._seen[key] = now + self.ttl_s
        return True

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
