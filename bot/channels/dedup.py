"""Webhook de-duplication: remember an event key for ``ttl_s`` and say whether it is new.

Three backends, chosen at start:

- Redis ``SET NX EX`` when ``CONGDAN_REDIS_URL`` is set (shared by every gateway instance);
- the database table ``webhook_events_seen`` otherwise (given an engine), so a restart
  does not forget what was already answered: Zalo retries a delivery for hours, and a
  retry after a restart must not be answered twice;
- process memory when neither is available (and as the fallback when Redis or the
  database fails, logged: a broken store must not silence the bot).

Events older than the window are refused by the channel (``is_stale``), so a delivery
whose key has expired cannot be replayed either.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import redis.asyncio as aioredis
import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from knowledge.db import metadata, utcnow

log = logging.getLogger(__name__)
KEY_PREFIX = "congdan:zalo:event:"
WINDOW_S = 24 * 3600
PRUNE_EVERY = 500  # inserts between two deletions of expired keys

webhook_events_seen = sa.Table(
    "webhook_events_seen",
    metadata,
    sa.Column("event_key", sa.String(200), primary_key=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


def is_stale(timestamp_ms: object, window_s: int = WINDOW_S, now: float | None = None) -> bool:
    """True for an event older than the window, or without a usable timestamp."""
    try:
        sent_at = int(str(timestamp_ms)) / 1000
    except ValueError:
        return True
    return (now or time.time()) - sent_at > window_s


class Deduplicator:
    def __init__(
        self,
        redis_url: str | None = None,
        ttl_s: int = WINDOW_S,
        max_keys: int = 100_000,
        engine: Engine | None = None,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self.engine = engine
        self._seen: dict[str, float] = {}
        self._inserts = 0
        self._redis: aioredis.Redis | None = (
            aioredis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
            if redis_url
            else None
        )

    @property
    def backend(self) -> str:
        if self._redis is not None:
            return "redis"
        return "database" if self.engine is not None else "memory"

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
        if self.engine is not None:
            try:
                return await asyncio.to_thread(self._store, key[:200])
            except SQLAlchemyError as error:
                log.warning(
                    "stored de-duplication unavailable (%s); using process memory", type(error).__name__
                )
        return self._remember(key)

    def _store(self, key: str) -> bool:
        assert self.engine is not None
        now = utcnow()
        expires = now + dt.timedelta(seconds=self.ttl_s)
        table = webhook_events_seen
        try:
            with self.engine.begin() as connection:
                connection.execute(table.insert().values(event_key=key, expires_at=expires))
        except IntegrityError:
            with self.engine.begin() as connection:  # seen: new again only once expired
                renewed = connection.execute(
                    table.update()
                    .where(table.c.event_key == key, table.c.expires_at <= now)
                    .values(expires_at=expires)
                ).rowcount
            return bool(renewed)
        self._inserts += 1
        if self._inserts % PRUNE_EVERY == 0:
            with self.engine.begin() as connection:
                connection.execute(table.delete().where(table.c.expires_at <= now))
        return True

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
