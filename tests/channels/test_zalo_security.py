"""Issue 15, Zalo: tokens encrypted at rest (older plain rows read once and re-encrypted),
de-duplication that survives a restart without Redis, events older than the window refused."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.channels.dedup import Deduplicator, is_stale
from bot.channels.zalo import server_secret
from bot.channels.zalo_tokens import TokenCipher, TokenPair, TokenStore
from bot.settings import Settings
from knowledge.db import create_db_engine, zalo_tokens
from tests.channels.conftest import FakeConversation, deliver, text_event, wait_for
from tests.channels.fake_zalo import FakeZalo


def test_tokens_are_stored_encrypted_and_read_back(engine: sa.Engine) -> None:
    store = TokenStore(engine, TokenCipher("a" * 40))
    store.save(TokenPair("access-secret-1", "refresh-secret-1"))
    with engine.connect() as connection:
        row = connection.execute(sa.select(zalo_tokens)).one()
    assert "secret-1" not in str(tuple(row))
    assert row.access_token.startswith("fernet:") and row.refresh_token.startswith("fernet:")
    pair = store.load()
    assert pair is not None and (pair.access_token, pair.refresh_token) == (
        "access-secret-1",
        "refresh-secret-1",
    )
    # another server secret cannot read them: the environment's pair is used instead
    seed = TokenPair("env-access", "env-refresh")
    assert TokenStore(engine, TokenCipher("b" * 40), seed).load() == seed


def test_a_plain_row_from_an_older_version_is_read_once_and_re_encrypted(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            zalo_tokens.insert().values(
                id=1,
                access_token="old-plain-access",
                refresh_token="old-plain-refresh",
                updated_at=sa.func.now(),
            )
        )
    pair = TokenStore(engine, TokenCipher("a" * 40)).load()
    assert pair is not None and pair.access_token == "old-plain-access"
    with engine.connect() as connection:
        row = connection.execute(sa.select(zalo_tokens)).one()
    assert "old-plain" not in str(tuple(row)) and row.refresh_token.startswith("fernet:")


def test_the_refresh_lease_reads_and_writes_encrypted_tokens(engine: sa.Engine) -> None:
    store = TokenStore(engine, TokenCipher("a" * 40), TokenPair("a0", "r0"))
    lease = store.lease()
    try:
        assert lease.current == TokenPair("a0", "r0")
        lease.save(TokenPair("a1", "r1"))
    finally:
        lease.close()
    with engine.connect() as connection:
        row = connection.execute(sa.select(zalo_tokens)).one()
    assert row.access_token != "a1" and store.load() == TokenPair("a1", "r1", store.load().expires_at)  # type: ignore[union-attr]


def test_stored_deduplication_survives_a_restart(engine: sa.Engine) -> None:
    async def run() -> list[bool]:
        first = Deduplicator(engine=engine)
        seen = [await first.first_time("msg:1"), await first.first_time("msg:1")]
        restarted = Deduplicator(engine=engine)  # a new process: its memory is empty
        assert restarted.backend == "database"
        return [*seen, await restarted.first_time("msg:1"), await restarted.first_time("msg:2")]

    assert asyncio.run(run()) == [True, False, False, True]


def test_an_expired_key_is_new_again(engine: sa.Engine) -> None:
    async def run() -> list[bool]:
        short = Deduplicator(engine=engine, ttl_s=0)
        return [await short.first_time("k"), await short.first_time("k")]

    assert asyncio.run(run()) == [True, True]


def test_a_redelivery_after_a_gateway_restart_is_not_answered_twice(
    zalo_settings: Settings, fake_zalo: FakeZalo
) -> None:
    event = text_event("4242", "xin chào", "msg-restart")
    calls: list[tuple[str, str]] = []
    for _ in range(2):  # the same delivery before and after a restart (Zalo retries for hours)
        with TestClient(create_app(zalo_settings)) as client:
            fake = FakeConversation()
            client.app.state.zalo.channel.conversation = fake  # type: ignore[attr-defined]
            assert deliver(client, event).status_code == 200
        calls += fake.calls  # after the shutdown, which lets the background task finish
    wait_for(lambda: fake_zalo.sent, what="the one reply")
    assert calls == [("zalo:4242", "xin chào")]
    assert len(fake_zalo.sent) == 1


def test_an_event_older_than_the_window_is_refused(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo
) -> None:
    old = text_event("5151", "tin cũ phát lại", "msg-old")
    old["timestamp"] = str(int((time.time() - 25 * 3600) * 1000))
    assert deliver(gateway, old).status_code == 200  # acknowledged, so Zalo stops retrying
    fresh = text_event("5151", "tin mới", "msg-new")
    deliver(gateway, fresh)
    wait_for(lambda: fake_zalo.sent, what="the reply to the fresh message")
    assert conversation.calls == [("zalo:5151", "tin mới")]


def test_staleness_needs_a_numeric_timestamp_within_the_window() -> None:
    now = 1_800_000_000.0
    assert not is_stale(str(int(now * 1000)), now=now)
    assert not is_stale(int((now - 23 * 3600) * 1000), now=now)
    assert is_stale(int((now - 25 * 3600) * 1000), now=now)
    for bad in (None, "", "abc", "1.5e12"):
        assert is_stale(bad, now=now)


def test_the_gateway_encrypts_with_the_server_secret(zalo_settings: Settings) -> None:
    secret = server_secret(zalo_settings)
    assert secret == (zalo_settings.var_dir / "session.key").read_text().strip()
    engine = create_db_engine(zalo_settings.sqlalchemy_url)
    try:
        TokenStore(engine, TokenCipher(secret)).save(TokenPair("x", "y"))
        assert TokenStore(engine, TokenCipher(secret)).load() == TokenPair("x", "y", None)
    finally:
        engine.dispose()
