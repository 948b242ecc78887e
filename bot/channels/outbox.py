"""The outbox: every reply is written to the ``outbox`` table first, and a worker sends
it. Nothing is lost across a restart (pending rows are picked up when the worker starts)
and a failed send is retried with exponential backoff stored in ``next_attempt_at``.

States: ``pending`` (to send, possibly after ``next_attempt_at``), ``sent``,
``failed`` (rejected, or out of attempts; see ``last_error``) and ``expired`` (Zalo's
48-hour window for free-form replies had closed). Rows of one recipient are sent in
order: a row waiting for a retry holds back the rows written after it.

Claiming a row bumps ``attempts`` with a compare-and-set and leases it for
``lease_s``, so two gateway instances never send the same row at the same time and a
row claimed by a process that died is sent again after the lease.

Stopping is graceful: the worker claims nothing new and waits (up to ``stop_grace_s``)
for the sends in flight to be recorded, so a restart does not send a message twice. Only
a send still unanswered after the grace period is cancelled and released for the next
start (delivery is at least once, never lost)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.zalo_users import as_utc
from bot.portal.subscriptions import claim_pending
from knowledge.db import notifications, outbox, utcnow

log = logging.getLogger(__name__)

PENDING, SENT, FAILED, EXPIRED = "pending", "sent", "failed", "expired"


class RetryLater(RuntimeError):
    """The channel is unavailable for now: retry with backoff."""


class Undeliverable(RuntimeError):
    """The message can never be delivered: mark the row failed."""


class OutsideWindow(RuntimeError):
    """The channel no longer allows this free-form message: mark the row expired."""


Sender = Callable[[str, dict[str, Any]], Awaitable[None]]


def _insert(connection: sa.Connection, channel: str, recipient: str, payload: dict[str, Any]) -> int:
    now = utcnow()
    result = connection.execute(
        outbox.insert().values(
            channel=channel,
            recipient=recipient,
            payload=payload,
            state=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def enqueue(engine: Engine, channel: str, recipient: str, payloads: list[dict[str, Any]]) -> list[int]:
    """Write messages for one recipient in one transaction; returns their row ids."""
    with engine.begin() as connection:
        return [_insert(connection, channel, recipient, payload) for payload in payloads]


def forward_notifications(engine: Engine, channel: str) -> int:
    """Move the channel's pending dossier notifications (conversation ``<channel>:<id>``)
    into the outbox, in one transaction: each is sent once, none is lost."""
    with engine.begin() as connection:
        rows = claim_pending(connection, notifications.c.conversation.like(f"{channel}:%"))
        for row in rows:
            _insert(connection, channel, row.conversation.split(":", 1)[1], {"text": row.text})
    return len(rows)


def backoff(attempts: int, base_s: float, max_s: float) -> dt.timedelta:
    """Delay before the next try after ``attempts`` failed ones: base, 2×base, 4×base, … capped."""
    return dt.timedelta(seconds=min(max_s, base_s * 2 ** max(0, attempts - 1)))


class OutboxWorker:
    def __init__(
        self,
        engine: Engine,
        senders: dict[str, Sender],
        *,
        poll_interval_s: float = 1.0,
        base_delay_s: float = 1.0,
        max_delay_s: float = 600.0,
        max_attempts: int = 12,
        lease_s: float = 60.0,
        concurrency: int = 8,
        batch: int = 500,
        stop_grace_s: float = 10.0,
    ) -> None:
        self.engine = engine
        self.senders = senders
        self.poll_interval_s = poll_interval_s
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.max_attempts = max_attempts
        self.lease = dt.timedelta(seconds=lease_s)
        self.batch = batch
        self.stop_grace_s = stop_grace_s
        self._stopping = False
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._db_error_logged = False

    def wake(self) -> None:
        """New rows were written: look now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None and self.senders:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox-worker")

    async def stop(self) -> None:
        """Claim nothing new, let the sends in flight finish, then end the worker."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), self.stop_grace_s)
        except TimeoutError:
            log.warning(
                "outbox: sends still in flight after %ss; released for the next start", self.stop_grace_s
            )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.run_once()
                self._db_error_logged = False
            except SQLAlchemyError as error:
                if not self._db_error_logged:  # e.g. the database is not migrated yet
                    log.error("outbox: database error (%s); retrying", type(error).__name__)
                    self._db_error_logged = True
            except Exception:
                log.exception("outbox: unexpected error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
            self._wake.clear()

    async def run_once(self) -> int:
        """Send every row that is due; returns how many sends were attempted."""
        rows = await asyncio.to_thread(self._pending)
        now = utcnow()
        by_recipient: dict[tuple[str, str], list[Any]] = {}
        held: set[tuple[str, str]] = set()
        for row in rows:
            key = (row.channel, row.recipient)
            if key in held:
                continue
            if (as_utc(row.next_attempt_at) or now) > now:
                held.add(key)  # keep this recipient's later rows behind the one waiting
                continue
            by_recipient.setdefault(key, []).append(row)
        counts = await asyncio.gather(*(self._send_in_order(group) for group in by_recipient.values()))
        return sum(counts)

    async def _send_in_order(self, rows: list[Any]) -> int:
        attempted = 0
        async with self._slots:
            for row in rows:
                if self._stopping or not await asyncio.to_thread(self._claim, row.id, row.attempts):
                    return attempted
                attempted += 1
                try:
                    delivered = await self._deliver(row, row.attempts + 1)
                except asyncio.CancelledError:  # shutting down: free the row for the next start
                    self._release(row.id)
                    raise
                if not delivered:
                    return attempted  # later rows wait for this one
        return attempted

    async def _deliver(self, row: Any, attempts: int) -> bool:
        sender = self.senders[row.channel]
        try:
            await sender(row.recipient, dict(row.payload))
        except OutsideWindow as error:
            await asyncio.to_thread(self._finish, row.id, EXPIRED, str(error))
            log.info("outbox %s: expired (%s)", row.id, error)
            return True
        except Undeliverable as error:
            await asyncio.to_thread(self._finish, row.id, FAILED, str(error))
            log.warning("outbox %s: failed (%s)", row.id, error)
            return True
        except Exception as error:  # RetryLater and anything unexpected: retry with backoff
            reason = str(error) or type(error).__name__
            if attempts >= self.max_attempts:
                await asyncio.to_thread(self._finish, row.id, FAILED, f"{attempts} lần thử: {reason}")
                log.warning("outbox %s: giving up after %s attempts (%s)", row.id, attempts, reason)
                return True
            delay = backoff(attempts, self.base_delay_s, self.max_delay_s)
            await asyncio.to_thread(self._retry_later, row.id, delay, reason)
            log.info(
                "outbox %s: attempt %s failed (%s); retry in %ss", row.id, attempts, reason, delay.seconds
            )
            return False
        # The message is out: record it even if a forced stop cancels us meanwhile.
        await asyncio.shield(asyncio.to_thread(self._finish, row.id, SENT, None))
        return True

    # --- database steps (run in a worker thread) ---------------------------------------
    def _pending(self) -> list[Any]:
        with self.engine.connect() as connection:
            return list(
                connection.execute(
                    sa.select(outbox)
                    .where(outbox.c.state == PENDING, outbox.c.channel.in_(list(self.senders)))
                    .order_by(outbox.c.id)
                    .limit(self.batch)
                )
            )

    def _claim(self, row_id: int, attempts: int) -> bool:
        with self.engine.begin() as connection:
            return bool(
                connection.execute(
                    outbox.update()
                    .where(outbox.c.id == row_id, outbox.c.state == PENDING, outbox.c.attempts == attempts)
                    .values(attempts=attempts + 1, next_attempt_at=utcnow() + self.lease)
                ).rowcount
            )

    def _release(self, row_id: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                outbox.update()
                .where(outbox.c.id == row_id, outbox.c.state == PENDING)
                .values(next_attempt_at=utcnow())
            )

    def _retry_later(self, row_id: int, delay: dt.timedelta, reason: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                outbox.update()
                .where(outbox.c.id == row_id)
                .values(next_attempt_at=utcnow() + delay, last_error=reason[:500])
            )

    def _finish(self, row_id: int, state: str, reason: str | None) -> None:
        values: dict[str, Any] = {"state": state, "last_error": reason[:500] if reason else None}
        if state == SENT:
            values["sent_at"] = utcnow()
        with self.engine.begin() as connection:
            connection.execute(outbox.update().where(outbox.c.id == row_id).values(**values))
