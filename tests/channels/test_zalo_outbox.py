"""Sending through the outbox: token refresh, retries of 5xx and timeouts, restarts,
and Zalo's 48-hour window. Real gateway app and a loopback fake of Zalo."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.channels import outbox as outbox_module
from bot.channels.zalo import server_secret
from bot.channels.zalo_client import ZaloClient
from bot.channels.zalo_tokens import TokenCipher, TokenPair, TokenStore
from bot.channels.zalo_users import ZaloUsers
from bot.settings import Settings
from knowledge.db import create_db_engine, outbox, utcnow, zalo_tokens
from tests.channels.conftest import (
    APP_ID,
    APP_SECRET,
    FakeConversation,
    deliver,
    text_event,
    wait_for,
)
from tests.channels.fake_zalo import FakeZalo


def rows(settings: Settings) -> list[sa.Row]:
    engine = create_db_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.select(outbox).order_by(outbox.c.id)))
    finally:
        engine.dispose()


def stored_tokens(settings: Settings) -> sa.Row | None:
    engine = create_db_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.select(zalo_tokens)).first()
    finally:
        engine.dispose()


def test_an_expired_token_is_refreshed_once_and_the_new_pair_is_persisted(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo, zalo_settings: Settings
) -> None:
    fake_zalo.access_token, fake_zalo.refresh_token = "access-expired-elsewhere", "refresh-0"
    # Zalo no longer accepts access-0 (it answers -216); refresh-0 is still valid.
    deliver(gateway, text_event("11", "xin chào", "m1"))
    wait_for(lambda: fake_zalo.sent, what="the reply after the refresh")
    assert len(fake_zalo.refresh_calls) == 1
    refresh = fake_zalo.refresh_calls[0]
    assert refresh["secret_key"] == APP_SECRET
    assert refresh["form"] == {"app_id": APP_ID, "grant_type": "refresh_token", "refresh_token": "refresh-0"}
    assert [call["access_token"] for call in fake_zalo.send_calls] == ["access-0", "access-1"]
    row = stored_tokens(zalo_settings)
    assert row is not None and "access-1" not in str(tuple(row))  # encrypted at rest
    cipher = TokenCipher(server_secret(zalo_settings))
    assert [cipher.decrypt(row.access_token)[0], cipher.decrypt(row.refresh_token)[0]] == [
        "access-1",
        "refresh-1",
    ]
    # The next reply uses the stored token: no second refresh (the old refresh token is spent).
    deliver(gateway, text_event("11", "cảm ơn", "m2"))
    wait_for(lambda: len(fake_zalo.sent) >= 2, what="the second reply")
    assert len(fake_zalo.refresh_calls) == 1
    assert fake_zalo.send_calls[-1]["access_token"] == "access-1"


def test_the_stored_token_pair_survives_a_restart(zalo_settings: Settings, fake_zalo: FakeZalo) -> None:
    fake_zalo.access_token = "rotated"
    with TestClient(create_app(zalo_settings)) as client:
        deliver(client, text_event("12", "a", "m1"))
        wait_for(lambda: fake_zalo.sent, what="the first reply")
    with TestClient(create_app(zalo_settings)) as client:
        deliver(client, text_event("12", "b", "m2"))
        wait_for(lambda: len(fake_zalo.sent) >= 2, what="the reply after the restart")
    # The environment still says access-0/refresh-0, but the database pair wins.
    assert len(fake_zalo.refresh_calls) == 1
    assert fake_zalo.send_calls[-1]["access_token"] == "access-1"


def test_a_refused_refresh_keeps_the_message_pending_for_a_retry(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo, zalo_settings: Settings
) -> None:
    fake_zalo.access_token, fake_zalo.refresh_token = "other", "other-refresh"
    deliver(gateway, text_event("13", "xin chào", "m1"))
    wait_for(lambda: fake_zalo.refresh_calls, what="the refresh attempt")
    row = wait_for(lambda: [r for r in rows(zalo_settings) if r.last_error], what="the recorded error")[0]
    assert row.state == "pending" and "refresh" in row.last_error
    assert fake_zalo.sent == []


def test_a_5xx_is_retried_from_the_outbox_and_delivered_once(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo, zalo_settings: Settings
) -> None:
    fake_zalo.fail_next = 2
    deliver(gateway, text_event("21", "lệ phí bao nhiêu", "m1"))
    wait_for(lambda: fake_zalo.sent, what="the delivery after two 503s")
    assert fake_zalo.texts("21") == ["Đã nhận: lệ phí bao nhiêu"]
    assert len(fake_zalo.send_calls) == 3
    [row] = wait_for(lambda: [r for r in rows(zalo_settings) if r.state == "sent"], what="the sent row")
    assert row.attempts == 3 and row.sent_at is not None


def test_a_timeout_is_retried_and_later_messages_keep_their_order(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo
) -> None:
    fake_zalo.slow_next, fake_zalo.slow_s = 1, 1.5  # client timeout is 0.5 s
    deliver(gateway, text_event("22", "một", "m1"))
    deliver(gateway, text_event("22", "hai", "m2"))
    wait_for(lambda: len(fake_zalo.texts("22")) >= 2, what="both replies")
    assert fake_zalo.texts("22") == ["Đã nhận: một", "Đã nhận: hai"]


def test_pending_rows_are_delivered_when_the_worker_starts(
    zalo_settings: Settings, fake_zalo: FakeZalo
) -> None:
    engine = create_db_engine(zalo_settings.sqlalchemy_url)
    ZaloUsers(engine).touch("31")
    outbox_module.enqueue(engine, "zalo", "31", [{"text": "phần 1"}, {"text": "phần 2"}])
    engine.dispose()
    assert fake_zalo.sent == []
    with TestClient(create_app(zalo_settings)):
        wait_for(lambda: len(fake_zalo.sent) >= 2, what="the pending rows")
    assert fake_zalo.texts("31") == ["phần 1", "phần 2"]
    assert {row.state for row in rows(zalo_settings)} == {"sent"}


def test_a_reply_accepted_while_zalo_is_down_is_sent_after_a_restart(
    zalo_settings: Settings, fake_zalo: FakeZalo
) -> None:
    fake_zalo.fail_next = 10_000
    with TestClient(create_app(zalo_settings)) as client:
        client.app.state.zalo.channel.conversation = FakeConversation()  # type: ignore[attr-defined]
        deliver(client, text_event("32", "còn hồ sơ thì sao", "m1"))
        wait_for(lambda: fake_zalo.send_calls, what="the failing attempt")
    assert fake_zalo.sent == [] and rows(zalo_settings)[0].state == "pending"
    fake_zalo.fail_next = 0
    with TestClient(create_app(zalo_settings)):
        wait_for(lambda: fake_zalo.sent, what="the delivery after the restart", timeout_s=30)
    assert fake_zalo.texts("32") == ["Đã nhận: còn hồ sơ thì sao"]


def test_a_reply_outside_the_48_hour_window_is_expired_not_sent(
    zalo_settings: Settings, fake_zalo: FakeZalo
) -> None:
    engine = create_db_engine(zalo_settings.sqlalchemy_url)
    ZaloUsers(engine).touch("41", at=utcnow() - dt.timedelta(hours=49))
    ZaloUsers(engine).touch("42", at=utcnow() - dt.timedelta(hours=47))
    outbox_module.enqueue(engine, "zalo", "41", [{"text": "quá hạn"}])
    outbox_module.enqueue(engine, "zalo", "42", [{"text": "còn hạn"}])
    outbox_module.enqueue(engine, "zalo", "43", [{"text": "chưa từng nhắn"}])
    engine.dispose()
    with TestClient(create_app(zalo_settings)):
        wait_for(
            lambda: {r.state for r in rows(zalo_settings)} <= {"sent", "expired"}, what="all rows settled"
        )
    by_recipient = {row.recipient: row for row in rows(zalo_settings)}
    assert by_recipient["41"].state == "expired" and "48 giờ" in by_recipient["41"].last_error
    assert by_recipient["43"].state == "expired"
    assert by_recipient["42"].state == "sent"
    assert [m["user_id"] for m in fake_zalo.sent] == ["42"]


def test_a_rejected_message_is_marked_failed_with_the_zalo_error_and_not_retried(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo, zalo_settings: Settings
) -> None:
    fake_zalo.reject_users["51"] = -213  # e.g. the user blocked the OA
    deliver(gateway, text_event("51", "x", "m1"))
    deliver(gateway, text_event("52", "y", "m2"))
    wait_for(lambda: fake_zalo.sent, what="the other user's reply")
    [row] = wait_for(lambda: [r for r in rows(zalo_settings) if r.state == "failed"], what="the failed row")
    assert row.recipient == "51" and "-213" in row.last_error and row.attempts == 1
    assert [call["body"]["recipient"]["user_id"] for call in fake_zalo.send_calls].count("51") == 1


def test_a_dossier_notification_reaches_the_zalo_user_once_even_after_a_restart(
    zalo_settings: Settings, fake_zalo: FakeZalo
) -> None:
    from knowledge.db import notifications

    engine = create_db_engine(zalo_settings.sqlalchemy_url)
    ZaloUsers(engine).touch("41")
    with engine.begin() as connection:
        connection.execute(
            notifications.insert().values(
                subscription_id=7,
                conversation="zalo:41",
                change_key="9@1",
                status=9,
                text="Hồ sơ của Anh/Chị đã xử lý xong.",
                state="pending",
                created_at=utcnow(),
            )
        )
    engine.dispose()
    with TestClient(create_app(zalo_settings)):
        wait_for(lambda: fake_zalo.texts("41"), what="the notification")
    with TestClient(create_app(zalo_settings)):  # a restart sends nothing twice
        wait_for(lambda: all(r.state == "sent" for r in rows(zalo_settings)), what="outbox settled")
    assert fake_zalo.texts("41") == ["Hồ sơ của Anh/Chị đã xử lý xong."]


def test_a_shutdown_during_a_send_records_it_and_a_restart_does_not_send_it_again(
    zalo_settings: Settings, fake_zalo: FakeZalo
) -> None:
    fake_zalo.answer_delay_s = 0.3  # Zalo has delivered; its answer is still on the way
    engine = create_db_engine(zalo_settings.sqlalchemy_url)
    ZaloUsers(engine).touch("61")
    outbox_module.enqueue(engine, "zalo", "61", [{"text": "Lịch hẹn của Anh/Chị: 8 giờ sáng mai."}])
    engine.dispose()
    with TestClient(create_app(zalo_settings)):
        wait_for(lambda: fake_zalo.texts("61"), what="the send to reach Zalo")
    # the gateway stopped while the answer was in flight: the send is on record
    assert [(r.state, r.attempts) for r in rows(zalo_settings)] == [("sent", 1)]
    with TestClient(create_app(zalo_settings)):
        pass
    assert fake_zalo.texts("61") == ["Lịch hẹn của Anh/Chị: 8 giờ sáng mai."]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_instances_refreshing_at_once_spend_the_refresh_token_once(
    database_url: str, fake_zalo: FakeZalo
) -> None:
    """Production runs several gateways on one PostgreSQL database. Zalo's refresh token
    is single-use: if both instances spent it, the second would be refused and Zalo
    sending would stop until an operator pasted a new token."""
    fake_zalo.refresh_delay_s = 0.5  # both instances read the token before either stores the new one
    secret = "s" * 40

    async def both() -> list[str]:
        engines = [create_db_engine(database_url) for _ in range(2)]
        clients = [
            ZaloClient(
                fake_zalo.url,
                fake_zalo.url,
                APP_ID,
                APP_SECRET,
                TokenStore(e, TokenCipher(secret), TokenPair("access-0", "refresh-0")),
            )
            for e in engines
        ]
        try:
            return await asyncio.gather(*(client.refresh("access-0") for client in clients))
        finally:
            for client, engine in zip(clients, engines, strict=True):
                await client.aclose()
                engine.dispose()

    assert asyncio.run(both()) == ["access-1", "access-1"]
    assert len(fake_zalo.refresh_calls) == 1
    engine = create_db_engine(database_url)
    try:
        pair = TokenStore(engine, TokenCipher(secret)).load()
    finally:
        engine.dispose()
    assert pair is not None and (pair.access_token, pair.refresh_token) == (
        "access-1",
        fake_zalo.refresh_token,
    )
