"""The handoff inbox through the real gateway app: an officer lists, reads (transcript
masked), answers and closes tickets; the answer reaches a web citizen (GET
/api/notifications, and before the next answer) and a Zalo citizen (outbox → loopback
fake Zalo) inside the 48-hour window, and is recorded as undeliverable outside it."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bot import inbox
from bot.console import audit
from bot.console.accounts import add_operator
from bot.settings import Settings
from knowledge.db import create_db_engine, outbox, zalo_users
from tests.channels.conftest import FakeConversation, deliver, text_event, wait_for
from tests.channels.fake_zalo import FakeZalo
from tests.console.conftest import ADMIN, EDITOR
from tests.console.helpers import api_csrf, form_csrf, login

PREFIX = "Cán bộ đã trả lời yêu cầu"


def web_citizen(client: TestClient) -> tuple[str, str]:
    """A web session token as /api/chat issues it, and its sender id."""
    token = client.post("/api/chat", json={"session": None, "message": "xin chào"}).json()["session"]
    sender = client.app.state.congdan.tokens.sender_id(token)  # type: ignore[attr-defined]
    assert sender
    return token, sender


def write_tracker(settings: Settings, sender_id: str, turns: list[tuple[str, str]]) -> None:
    """Rasa's SQL tracker store table, as `rasa run` creates it under var/."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(settings.tracker_db_path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL,"
            " type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255),"
            " action_name VARCHAR(255), data TEXT)"
        )
        for i, (kind, said) in enumerate(turns):
            db.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, ?, ?, ?)",
                (sender_id, kind, 1_764_000_000 + i, json.dumps({"event": kind, "text": said})),
            )
        db.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'action', 1, '{}')",
            (sender_id,),
        )


def test_a_web_citizen_gets_the_officers_answer(
    client: TestClient, console_engine: Engine, console_settings: Settings
) -> None:
    token, sender = web_citizen(client)
    other_token, _other = web_citizen(client)
    write_tracker(
        console_settings,
        sender,
        [("user", "tôi muốn hỏi cán bộ, số tôi 0912345678"), ("bot", "Tôi đã chuyển câu hỏi của Anh/Chị.")],
    )
    code = inbox.create_handoff(
        console_engine, sender, "asked_human", "hỏi về hộ khẩu cũ, gọi 0987654321", None
    )
    login(client, *EDITOR)
    listed = client.get("/api/admin/handoffs", params={"status": "open"}).json()
    assert [(t["code"], t["channel"], t["status"], t["question"]) for t in listed] == [
        (code, "web", "open", "hỏi về hộ khẩu cũ, gọi [SĐT]")
    ]
    ticket = client.get(f"/api/admin/handoffs/{code}").json()
    assert [t["from"] for t in ticket["transcript"]] == ["citizen", "bot"]
    assert "0912345678" not in json.dumps(ticket) and "[SĐT]" in ticket["transcript"][0]["text"]
    assert "0987654321" not in json.dumps(ticket) and "0987654321" not in client.get("/admin/handoffs").text
    assert "conversation" not in ticket  # the session's id never leaves the server

    csrf = api_csrf(client)
    answer = "Sổ hộ khẩu không còn giá trị từ 2023, Anh/Chị dùng căn cước."
    sent = client.post(
        f"/api/admin/handoffs/{code}/reply", json={"text": answer}, headers={"X-CSRF-Token": csrf}
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["author"] == EDITOR[0] and sent.json()["delivery"] == "waiting"

    # Another citizen sees nothing; this one sees it once.
    assert (
        client.get("/api/notifications", headers={"X-Session-Token": other_token}).json()["notifications"]
        == []
    )
    seen = client.get("/api/notifications", headers={"X-Session-Token": token}).json()["notifications"]
    assert [n["text"] for n in seen] == [f"{PREFIX} {code}: {answer}"]
    assert client.get("/api/notifications", params={"session": token}).json()["notifications"] == []
    assert client.get(f"/api/admin/handoffs/{code}").json()["replies"][0]["delivery"] == "shown"

    # A second answer, not polled: it comes first in the citizen's next reply.
    client.post(
        f"/api/admin/handoffs/{code}/reply",
        json={"text": "Cần thêm gì Anh/Chị cứ hỏi."},
        headers={"X-CSRF-Token": csrf},
    )
    chat = client.post("/api/chat", json={"session": token, "message": "cảm ơn"}).json()
    assert chat["messages"][0]["text"] == f"{PREFIX} {code}: Cần thêm gì Anh/Chị cứ hỏi."

    closed = client.post(f"/api/admin/handoffs/{code}/close", headers={"X-CSRF-Token": csrf})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    late = client.post(
        f"/api/admin/handoffs/{code}/reply", json={"text": "Thêm"}, headers={"X-CSRF-Token": csrf}
    )
    assert late.status_code == 409 and "đã đóng" in late.json()["message"]
    assert client.get("/api/admin/handoffs", params={"status": "open"}).json() == []
    assert client.get("/api/admin/handoffs", params={"status": "closed"}).json()[0]["replies"] == 2
    actions = [
        (e["actor"], e["action"], e["target"]) for e in audit.entries(console_engine, action="handoff")
    ]
    assert actions == [
        (EDITOR[0], "handoff.close", code),
        (EDITOR[0], "handoff.reply", code),
        (EDITOR[0], "handoff.reply", code),
    ]


def test_bad_replies_get_clear_4xx(client: TestClient, console_engine: Engine) -> None:
    _token, sender = web_citizen(client)
    code = inbox.create_handoff(console_engine, sender, "asked_human", None, None)
    login(client, *ADMIN)
    headers = {"X-CSRF-Token": api_csrf(client)}
    assert client.get("/api/admin/handoffs/HT-000000").status_code == 404
    assert client.get("/api/admin/handoffs/khong-phai-ma").status_code == 422
    assert (
        client.post("/api/admin/handoffs/HT-000000/reply", json={"text": "a"}, headers=headers).status_code
        == 404
    )
    blank = client.post(f"/api/admin/handoffs/{code}/reply", json={"text": "   "}, headers=headers)
    assert blank.status_code == 422 and "không được để trống" in blank.text
    long = client.post(f"/api/admin/handoffs/{code}/reply", json={"text": "x" * 2001}, headers=headers)
    assert long.status_code == 422
    assert client.post(f"/api/admin/handoffs/{code}/reply", content=b"{", headers=headers).status_code == 422
    assert client.get("/api/admin/handoffs", params={"status": "khac"}).status_code == 422
    assert client.get(f"/api/admin/handoffs/{code}").json()["replies"] == []


def test_inbox_pages_reply_and_close_with_the_form_token(client: TestClient, console_engine: Engine) -> None:
    token, sender = web_citizen(client)
    code = inbox.create_handoff(
        console_engine, sender, "two_fallbacks", "đăng ký kết hôn với người nước ngoài", None
    )
    login(client, *EDITOR)
    listing = client.get("/admin/handoffs")
    assert listing.status_code == 200 and f'href="/admin/handoffs/{code}"' in listing.text
    detail = client.get(f"/admin/handoffs/{code}")
    assert "đăng ký kết hôn với người nước ngoài" in detail.text and 'for="reply-text"' in detail.text
    csrf = form_csrf(detail.text)
    forged = client.post(
        f"/admin/handoffs/{code}/reply", data={"text": "Chào Anh/Chị"}, follow_redirects=False
    )
    assert forged.status_code == 403
    sent = client.post(
        f"/admin/handoffs/{code}/reply", data={"text": "Chào Anh/Chị", "csrf": csrf}, follow_redirects=False
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/admin/handoffs/{code}?sent=1"
    page = client.get(sent.headers["location"]).text
    assert "Đã gửi trả lời." in page and "đang chờ chuyển tới người dân" in page
    empty = client.post(f"/admin/handoffs/{code}/reply", data={"text": " ", "csrf": csrf})
    assert empty.status_code == 400 and "không được để trống" in empty.text
    client.post(f"/admin/handoffs/{code}/close", data={"csrf": csrf})
    assert "Đã đóng" in client.get(f"/admin/handoffs/{code}").text
    assert code in client.get("/admin/handoffs", params={"status": "closed"}).text
    notes = client.get("/api/notifications", headers={"X-Session-Token": token}).json()["notifications"]
    assert [n["text"] for n in notes] == [f"{PREFIX} {code}: Chào Anh/Chị"]


def test_a_zalo_citizen_gets_the_answer_through_the_outbox(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo, zalo_settings: Settings
) -> None:
    deliver(gateway, text_event("771", "cho tôi gặp cán bộ", "m-1"))
    wait_for(lambda: fake_zalo.texts("771"), what="the bot's first reply")
    engine = create_db_engine(zalo_settings.sqlalchemy_url)
    add_operator(engine, *EDITOR, role="editor")
    code = inbox.create_handoff(engine, "zalo:771", "asked_human", "cho tôi gặp cán bộ", None)
    login(gateway, *EDITOR)
    answer = "Anh/Chị mang căn cước tới bộ phận một cửa UBND xã."
    sent = gateway.post(
        f"/api/admin/handoffs/{code}/reply",
        json={"text": answer},
        headers={"X-CSRF-Token": api_csrf(gateway)},
    )
    assert sent.status_code == 200 and sent.json()["channel"] == "zalo"
    expected = f"{PREFIX} {code}: {answer}"
    wait_for(lambda: expected in fake_zalo.texts("771"), what="the officer's answer on Zalo")
    assert fake_zalo.texts("771").count(expected) == 1
    reply = wait_for(
        lambda: [
            r for r in gateway.get(f"/api/admin/handoffs/{code}").json()["replies"] if r["delivery"] == "sent"
        ],
        what="the reply marked sent",
    )
    assert reply[0]["text"] == answer
    engine.dispose()


def test_a_zalo_citizen_silent_for_48_hours_is_recorded_as_undeliverable(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo, zalo_settings: Settings
) -> None:
    deliver(gateway, text_event("772", "cho tôi gặp cán bộ", "m-2"))
    wait_for(lambda: fake_zalo.texts("772"), what="the bot's first reply")
    engine = create_db_engine(zalo_settings.sqlalchemy_url)
    with engine.begin() as connection:
        connection.execute(
            zalo_users.update()
            .where(zalo_users.c.user_id == "772")
            .values(last_message_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=49))
        )
    add_operator(engine, *EDITOR, role="editor")
    code = inbox.create_handoff(engine, "zalo:772", "asked_human", "cho tôi gặp cán bộ", None)
    with engine.connect() as connection:
        before = connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
    login(gateway, *EDITOR)
    sent = gateway.post(
        f"/api/admin/handoffs/{code}/reply",
        json={"text": "Chào Anh/Chị"},
        headers={"X-CSRF-Token": api_csrf(gateway)},
    )
    assert sent.status_code == 200
    assert sent.json()["delivery"] == "undeliverable" and "48 giờ" in sent.json()["note"]
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == before
    page = gateway.get(f"/admin/handoffs/{code}").text
    assert "không gửi được" in page and "48 giờ" in page
    assert not any(re.search(r"Cán bộ đã trả lời", t) for t in fake_zalo.texts("772"))
    engine.dispose()
