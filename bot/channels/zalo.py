"""The Zalo Official Account channel: what happens after a verified webhook delivery.

The webhook route acknowledges at once and hands the event to ``ZaloChannel.accept``;
the event is then processed in the background: refused when older than the
de-duplication window, de-duplicated by ``msg_id`` (stored, so a restart remembers), the text
(or the payload of the numbered choice the citizen typed) goes to the channel-agnostic
``ConversationService`` as sender ``zalo:<user id>``, and the reply is written to the
outbox, which sends it through ``ZaloClient``."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from bot.channels import outbox
from bot.channels.dedup import Deduplicator, is_stale
from bot.channels.zalo_client import ZaloClient, ZaloRejected, ZaloUnavailable
from bot.channels.zalo_format import choice_payload, render, split_text
from bot.channels.zalo_tokens import TokenCipher, TokenPair, TokenStore
from bot.channels.zalo_users import ZaloUsers
from bot.sessions import load_or_create_secret
from bot.settings import Settings
from bot.texts import text as message_text
from knowledge.db import utcnow

log = logging.getLogger(__name__)
CHANNEL = "zalo"
REPLY_WINDOW = dt.timedelta(hours=48)
SHUTDOWN_GRACE_S = 5.0


class Conversation(Protocol):
    async def reply(self, sender_id: str, message: str) -> list[dict[str, Any]]: ...


def is_configured(settings: Settings) -> bool:
    """The webhook needs the app id and the OA secret key (to verify signatures)."""
    return bool(settings.zalo_app_id and settings.zalo_oa_secret_key)


def sender_of(event: dict[str, Any]) -> str | None:
    """The Zalo user the event is about (``follower`` for follow/unfollow events)."""
    for field in ("sender", "follower", "user"):
        value = event.get(field)
        if isinstance(value, dict) and isinstance(value.get("id"), str | int):
            user_id = str(value["id"]).strip()
            if user_id and len(user_id) <= 64:
                return user_id
    return None


def event_key(event: dict[str, Any], user_id: str) -> str:
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    msg_id = message.get("msg_id") if message else None
    if isinstance(msg_id, str | int) and str(msg_id):
        return f"msg:{msg_id}"
    return f"{event.get('event_name')}:{user_id}:{event.get('timestamp')}"


class ZaloChannel:
    def __init__(
        self,
        conversation: Conversation,
        users: ZaloUsers,
        dedup: Deduplicator,
        worker: outbox.OutboxWorker,
    ) -> None:
        self.conversation = conversation
        self.users = users
        self.dedup = dedup
        self.worker = worker
        self._tasks: set[asyncio.Task[None]] = set()
        self._user_locks: dict[str, tuple[asyncio.Lock, int]] = {}  # lock, tasks using it

    def accept(self, event: dict[str, Any]) -> None:
        """Process the event in the background (the webhook answers Zalo first)."""
        task = asyncio.create_task(self.handle(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def handle(self, event: dict[str, Any]) -> None:
        name = str(event.get("event_name") or "")
        if name.startswith("oa_send_"):
            return  # Zalo echoes the OA's own messages
        user_id = sender_of(event)
        if user_id is None or not (name == "follow" or name.startswith("user_send_")):
            return
        if is_stale(event.get("timestamp"), self.dedup.ttl_s):
            log.warning("zalo: %s older than the de-duplication window refused", name)
            return
        lock, users = self._user_locks.get(user_id, (asyncio.Lock(), 0))
        self._user_locks[user_id] = (lock, users + 1)
        try:
            # one user's messages are answered in order: the lock is queued for before the
            # first await (the stored de-duplication runs in a thread and may finish out of order)
            async with lock:
                if not await self.dedup.first_time(event_key(event, user_id)):
                    log.info("zalo: duplicate delivery of %s ignored", name)
                    return
                await self._answer(name, user_id, event)
        except Exception:
            log.exception("zalo: could not answer %s", name)
        finally:
            lock, users = self._user_locks[user_id]
            if users <= 1:
                del self._user_locks[user_id]
            else:
                self._user_locks[user_id] = (lock, users - 1)

    async def _answer(self, name: str, user_id: str, event: dict[str, Any]) -> None:
        await asyncio.to_thread(self.users.touch, user_id)
        if name == "follow":
            await self._send(user_id, message_text("zalo_welcome"))
            return
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        said = message.get("text") if message else None
        if name != "user_send_text" or not isinstance(said, str):
            await self._send(user_id, message_text("zalo_not_text"))
            return
        choices = await asyncio.to_thread(self.users.buttons, user_id)
        said = choice_payload(said, choices) or said
        reply_text, buttons = render(await self.conversation.reply(f"{CHANNEL}:{user_id}", said))
        await asyncio.to_thread(self.users.set_buttons, user_id, buttons)
        await self._send(user_id, reply_text)

    async def _send(self, user_id: str, reply: str) -> None:
        parts = [{"text": part} for part in split_text(reply)]
        if parts:
            await asyncio.to_thread(outbox.enqueue, self.users.engine, CHANNEL, user_id, parts)
            self.worker.wake()

    async def drain(self, timeout_s: float = SHUTDOWN_GRACE_S) -> None:
        """Let in-flight events finish (bounded), cancel the rest."""
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
            for task in pending:
                task.cancel()


class ZaloSender:
    """The outbox's sender for ``zalo`` rows: the 48-hour window, then the OA API."""

    def __init__(self, client: ZaloClient, users: ZaloUsers) -> None:
        self.client = client
        self.users = users

    async def __call__(self, user_id: str, payload: dict[str, Any]) -> None:
        last_seen = await asyncio.to_thread(self.users.last_seen, user_id)
        if last_seen is None or utcnow() - last_seen > REPLY_WINDOW:
            raise outbox.OutsideWindow("ngoài cửa sổ 48 giờ kể từ tin nhắn cuối của người dùng")
        try:
            await self.client.send_text(user_id, str(payload.get("text", "")))
        except ZaloUnavailable as error:
            raise outbox.RetryLater(str(error)) from error
        except ZaloRejected as error:
            raise outbox.Undeliverable(str(error)) from error


@dataclass
class ZaloRuntime:
    """Everything the gateway starts for Zalo; ``channel`` is None when not configured."""

    channel: ZaloChannel | None
    worker: outbox.OutboxWorker
    client: ZaloClient | None
    dedup: Deduplicator | None

    async def forward_notifications(self) -> int:
        """Hand pending dossier notifications for Zalo users to the outbox."""
        moved = await asyncio.to_thread(outbox.forward_notifications, self.worker.engine, CHANNEL)
        if moved:
            self.worker.wake()
        return moved

    async def aclose(self) -> None:
        if self.channel is not None:
            await self.channel.drain()
        await self.worker.stop()
        if self.client is not None:
            await self.client.aclose()
        if self.dedup is not None:
            await self.dedup.aclose()


def server_secret(settings: Settings) -> str:
    configured = settings.session_secret.get_secret_value() if settings.session_secret else None
    return load_or_create_secret(configured, settings.var_dir)


def start_zalo(settings: Settings, engine: Engine, conversation: Conversation) -> ZaloRuntime:
    """Build the channel and start the outbox worker (call inside the running loop)."""
    if not is_configured(settings):
        worker = outbox.OutboxWorker(engine, {})
        return ZaloRuntime(None, worker, None, None)
    secret = settings.zalo_oa_secret_key.get_secret_value() if settings.zalo_oa_secret_key else ""
    app_secret = settings.zalo_app_secret.get_secret_value() if settings.zalo_app_secret else secret
    seed = None
    if settings.zalo_access_token:
        refresh = settings.zalo_refresh_token.get_secret_value() if settings.zalo_refresh_token else ""
        seed = TokenPair(settings.zalo_access_token.get_secret_value(), refresh)
    users = ZaloUsers(engine)
    client = ZaloClient(
        settings.zalo_api_base,
        settings.zalo_oauth_base,
        str(settings.zalo_app_id),
        app_secret,
        TokenStore(engine, TokenCipher(server_secret(settings)), seed),
        timeout_s=settings.zalo_timeout_s,
    )
    worker = outbox.OutboxWorker(engine, {CHANNEL: ZaloSender(client, users)})
    dedup = Deduplicator(settings.redis_url, engine=engine)
    worker.start()
    return ZaloRuntime(ZaloChannel(conversation, users, dedup, worker), worker, client, dedup)
