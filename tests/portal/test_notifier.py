"""The notifier against the real simulator: one notification per status change, also
after a restart; the web route shows each notification once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bot.portal import subscriptions
from bot.portal.client import HttpPortalClient
from bot.portal.notifier import Notifier
from knowledge.db import dossier_subscriptions, migrate, notifications
from tests.conftest import free_port
from tests.portal.conftest import Sim, make_client

CONVERSATION = "web:notified-citizen"


def code_with_status(sim: Sim, status: int, index: int) -> str:
    return str([d["code"] for d in sim.dossiers() if d["status"] == status][index])


async def subscribe(
    engine: Engine, client: HttpPortalClient, code: str, conversation: str = CONVERSATION
) -> None:
    assert subscriptions.subscribe(engine, conversation, await client.get_dossier(code))


def stored(engine: Engine) -> list[tuple[str, int, str]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(notifications).order_by(notifications.c.id)).all()
    return [(r.conversation, r.status, r.state) for r in rows]


async def test_one_notification_per_change_even_after_a_restart(sim: Sim, engine: Engine) -> None:
    code = code_with_status(sim, 4, index=4)
    client = make_client(sim.base)
    try:
        await subscribe(engine, client, code)
        notifier = Notifier(engine, client, interval_s=60, max_per_s=20)
        assert await notifier.poll_once() == 0  # nothing changed since subscribing
        sim.set_status(code, 5)
        assert await notifier.poll_once() == 1
        assert await notifier.poll_once() == 0
        restarted = Notifier(engine, client, interval_s=60, max_per_s=20)
        assert await restarted.poll_once() == 0
        assert stored(engine) == [(CONVERSATION, 5, "pending")]
        # even if the subscription lost track (crash), the change is not notified twice
        with engine.begin() as connection:
            connection.execute(dossier_subscriptions.update().values(last_change_key="stale"))
        assert await Notifier(engine, client, interval_s=60, max_per_s=20).poll_once() == 0
        assert len(stored(engine)) == 1
        sim.set_status(code, 10)  # a final status: notified, then no more polling
        assert await restarted.poll_once() == 1
        assert [s for _, s, _ in stored(engine)] == [5, 10]
        assert subscriptions.active(engine) == []
    finally:
        sim.set_status(code, 4)  # the simulator is shared by the session: put it back
        await client.aclose()
    texts = [n["text"] for n in subscriptions.take_pending(engine, CONVERSATION)]
    assert "Yêu cầu bổ sung giấy tờ" in texts[0] and "Đã trả kết quả" in texts[1]
    assert subscriptions.take_pending(engine, CONVERSATION) == []


async def test_portal_down_records_nothing_and_keeps_the_subscription(sim: Sim, engine: Engine) -> None:
    code = code_with_status(sim, 2, index=4)
    client = make_client(sim.base)
    try:
        await subscribe(engine, client, code)
    finally:
        await client.aclose()
    down = make_client(f"http://127.0.0.1:{free_port()}", attempts=1)
    try:
        assert await Notifier(engine, down, interval_s=60, max_per_s=20).poll_once() == 0
    finally:
        await down.aclose()
    assert stored(engine) == [] and len(subscriptions.active(engine)) == 1


async def test_polling_is_rate_bounded(sim: Sim, engine: Engine) -> None:
    client = make_client(sim.base)
    codes = [code_with_status(sim, 1, index=i) for i in range(3)]
    try:
        for code in codes:
            await subscribe(engine, client, code)
        before = sim.served()
        notifier = Notifier(engine, client, interval_s=60, max_per_s=1)
        hits = []
        original = notifier._limiter.hit

        async def counting_hit(*args: object) -> bool:
            allowed = await original(*args)  # type: ignore[arg-type]
            hits.append(allowed)
            return allowed

        notifier._limiter.hit = counting_hit  # type: ignore[method-assign]
        assert await notifier.poll_once() == 0
    finally:
        await client.aclose()
    assert sim.served() == before + 3
    assert hits.count(True) == 3 and hits.count(False) >= 1  # the limiter made the notifier wait


@pytest.fixture
def web_gateway(tmp_path, monkeypatch) -> Iterator[TestClient]:
    """The gateway with Rasa down (a closed port) and the notifier off."""
    for key in ("CONGDAN_DATABASE_URL", "CONGDAN_REDIS_URL", "CONGDAN_PORTAL_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CONGDAN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONGDAN_INDEX_DIR", str(tmp_path / "no-index"))
    monkeypatch.setenv("CONGDAN_RASA_PORT", str(free_port()))
    monkeypatch.setenv("CONGDAN_ACTIONS_PORT", str(free_port()))
    monkeypatch.setenv("CONGDAN_NOTIFIER_ENABLED", "false")
    from bot.app import create_app
    from bot.settings import Settings

    config = Settings()
    migrate(config.sqlalchemy_url)
    with TestClient(create_app(config)) as client:
        yield client


def web_session_with_notification(client: TestClient, status: int, text: str) -> str:
    """A web session with one pending notification, as the notifier records it."""
    session = str(client.post("/api/chat", json={"session": None, "message": "xin chào"}).json()["session"])
    sender = client.app.state.congdan.tokens.sender_id(session)  # type: ignore[attr-defined]
    with client.app.state.congdan.engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(
            notifications.insert().values(
                subscription_id=status,
                conversation=sender,
                change_key=f"{status}@test",
                status=status,
                text=text,
                state="pending",
                created_at=sa.func.now(),
            )
        )
    return session


def test_web_notifications_route_shows_each_notification_once(web_gateway: TestClient) -> None:
    client = web_gateway
    session = web_session_with_notification(client, 9, "Hồ sơ vừa chuyển sang tình trạng: Đã xử lý xong.")
    first = client.get("/api/notifications", params={"session": session})
    assert first.status_code == 200
    assert [n["text"] for n in first.json()["notifications"]] == [
        "Hồ sơ vừa chuyển sang tình trạng: Đã xử lý xong."
    ]
    assert client.get("/api/notifications", params={"session": session}).json() == {"notifications": []}
    forged = client.get("/api/notifications", params={"session": "web:someone"})
    assert forged.status_code == 401 and "Phiên" in forged.json()["message"]
    missing = client.get("/api/notifications")  # no token in the header nor in the query
    assert missing.status_code == 401 and "Phiên" in missing.json()["message"]
    by_header = client.get("/api/notifications", headers={"X-Session-Token": session})
    assert by_header.status_code == 200 and by_header.json() == {"notifications": []}


def test_a_web_notification_is_shown_before_the_next_answer_once(web_gateway: TestClient) -> None:
    """The citizen who subscribed on the web sees the change on the next message (Rasa is
    down here, so the apology follows it)."""
    client = web_gateway
    session = web_session_with_notification(client, 5, "Hồ sơ cần bổ sung giấy tờ.")
    texts = [
        m["text"]
        for m in client.post("/api/chat", json={"session": session, "message": "a"}).json()["messages"]
    ]
    assert texts[0] == "Hồ sơ cần bổ sung giấy tờ." and "Xin lỗi" in texts[1]
    again = [
        m["text"]
        for m in client.post("/api/chat", json={"session": session, "message": "b"}).json()["messages"]
    ]
    assert "Hồ sơ cần bổ sung giấy tờ." not in again
