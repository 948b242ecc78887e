"""Login throttling: failed logins counted per operator name and per client address in
a moving window (the `limits` library, in Redis when ``CONGDAN_REDIS_URL`` is set, else
in process memory — the same storage choice as ``bot.ratelimit``).

``blocked`` is asked before checking a password; ``failed`` counts a wrong one. The name
limit is low (one account's guesses); the address limit is much higher, so that one
person's typos do not lock out an office behind one address. If the storage is down,
logins are let through (logged), as for the public limits.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from bot.ratelimit import RateLimiter
from bot.settings import Settings

log = logging.getLogger(__name__)


class LoginThrottle:
    def __init__(self, per_name: str, per_address: str, redis_url: str | None = None) -> None:
        # RateLimiter owns the storage choice (Redis or memory); only its storage is reused.
        self._store = RateLimiter({}, redis_url, key_prefix="congdan:login").storage
        self._limiter = MovingWindowRateLimiter(self._store)
        self._items: dict[str, RateLimitItem] = {"name": parse(per_name), "address": parse(per_address)}

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(
            settings.console_login_limit_name, settings.console_login_limit_address, settings.redis_url
        )

    async def blocked(self, username: str, address: str) -> int:
        """Seconds to wait when either limit is used up, else 0."""
        try:
            for scope, key in (("name", username.casefold()), ("address", address)):
                item = self._items[scope]
                if not await self._limiter.test(item, "login", scope, key):
                    reset_at, _remaining = await self._limiter.get_window_stats(item, "login", scope, key)
                    return max(1, math.ceil(reset_at - time.time()))
        except StorageError as error:
            log.warning("login throttle storage unavailable, letting the login through: %s", error)
        return 0

    async def failed(self, username: str, address: str) -> None:
        try:
            await self._limiter.hit(self._items["name"], "login", "name", username.casefold())
            await self._limiter.hit(self._items["address"], "login", "address", address)
        except StorageError as error:
            log.warning("login throttle storage unavailable: %s", error)

    async def reset(self) -> None:
        try:
            await self._store.reset()
        except StorageError as error:  # pragma: no cover - only when Redis is down
            log.warning("could not reset login throttle: %s", error)
