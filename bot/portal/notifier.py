"""The background notifier: polls the portal for subscribed dossiers at a bounded rate
and records one notification per status change (web: shown on the next visit through
``GET /api/notifications`` and before the next answer; Zalo: handed to the outbox)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.portal import subscriptions
from bot.portal.client import HttpPortalClient, PortalClient
from bot.portal.errors import DossierNotFound, PortalError
from bot.settings import Settings

log = logging.getLogger(__name__)


AfterPass = Callable[[], Awaitable[object]]


class Notifier:
    def __init__(
        self,
        engine: Engine,
        client: PortalClient,
        interval_s: float,
        max_per_s: int,
        after_pass: Sequence[AfterPass] = (),
    ) -> None:
        self.engine = engine
        self.client = client
        self.interval_s = interval_s
        self.after_pass = list(after_pass)
        self._limit = RateLimitItemPerSecond(max_per_s)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._pause_s = 1.0 / max_per_s

    async def _wait_turn(self) -> None:
        while not await self._limiter.hit(self._limit, "portal-poll"):
            await asyncio.sleep(self._pause_s)

    async def poll_once(self) -> int:
        """One pass over the active subscriptions; returns notifications created."""
        created = 0
        for subscription in await asyncio.to_thread(subscriptions.active, self.engine):
            await self._wait_turn()
            try:
                dossier = await self.client.get_dossier(subscription.dossier_code)
            except DossierNotFound:
                log.warning("subscribed dossier no longer found (subscription %s)", subscription.id)
                continue
            except PortalError as error:
                log.warning("portal unavailable, notifier pass stopped: %s", type(error).__name__)
                break
            if dossier.change_key == subscription.last_change_key:
                continue
            if await asyncio.to_thread(subscriptions.record_change, self.engine, subscription, dossier):
                created += 1
                log.info(
                    "notification recorded for subscription %s (status %s)", subscription.id, dossier.status
                )
        return created

    async def run(self) -> None:
        """Poll forever (cancel the task to stop)."""
        while True:
            try:
                await self.poll_once()
                for hook in self.after_pass:
                    await hook()
            except SQLAlchemyError:
                log.exception("notifier pass failed (database)")
            except Exception:  # the notifier must outlive any one bad pass
                log.exception("notifier pass failed")
            await asyncio.sleep(self.interval_s)


class RunningNotifier:
    """The notifier task started by the gateway; ``stop()`` is safe when disabled."""

    def __init__(self, task: asyncio.Task[None] | None = None, client: PortalClient | None = None) -> None:
        self.task = task
        self.client = client

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.client is not None:
            await self.client.aclose()


def start_notifier(config: Settings, engine: Engine, after_pass: Sequence[AfterPass] = ()) -> RunningNotifier:
    """Start polling in the background when ``CONGDAN_NOTIFIER_ENABLED`` (the default);
    ``after_pass`` hooks run after every pass (the Zalo channel forwards its notifications)."""
    if not config.notifier_enabled:
        return RunningNotifier()
    client = HttpPortalClient.from_settings(config)
    notifier = Notifier(engine, client, config.notifier_interval_s, config.notifier_max_per_s, after_pass)
    return RunningNotifier(asyncio.create_task(notifier.run(), name="dossier-notifier"), client)
