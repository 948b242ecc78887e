"""POST /webhooks/zalo through the real gateway app, with a loopback fake of Zalo."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.settings import Settings
from bot.texts import text
from tests.channels.conftest import (
    APP_ID,
    FakeConversation,
    deliver,
    signed,
    text_event,
    wait_for,
)
from tests.channels.fake_zalo import FakeZalo, Served


def test_a_text_is_answered_through_the_oa_api_with_the_exact_request_shape(
    gateway: TestClient, fake_zalo: FakeZalo
) -> None:
    # Rasa is down (closed port): the real ConversationService answers with its apology.
    response = deliver(gateway, text_event("8801", "xin chào", "msg-1"))
    assert response.status_code == 200 and response.json() == {"ok": True}
    wait_for(lambda: fake_zalo.sent, what="a reply")
    call = fake_zalo.send_calls[0]
    assert call["access_token"] == "access-0"
    assert call["body"] == {
        "recipient": {"user_id": "8801"},
        "message": {"text": text("rasa_down", hotline="1900 1234")},
    }
    assert fake_zalo.bad_requests == []


def test_the_conversation_sender_id_is_derived_from_the_verified_event(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo
) -> None:
    deliver(gateway, text_event("4242", "đăng ký khai sinh", "msg-1"))
    wait_for(lambda: fake_zalo.sent, what="a reply")
    assert conversation.calls == [("zalo:4242", "đăng ký khai sinh")]
    assert fake_zalo.texts("4242") == ["Đã nhận: đăng ký khai sinh"]


def test_duplicate_deliveries_give_one_reply(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo
) -> None:
    event = text_event("7", "mất căn cước", "msg-dup")
    for _ in range(3):
        assert deliver(gateway, event).status_code == 200
    deliver(gateway, text_event("7", "cảm ơn", "msg-after"))
    wait_for(lambda: len(fake_zalo.sent) >= 2, what="both replies")
    assert fake_zalo.texts("7") == ["Đã nhận: mất căn cước", "Đã nhận: cảm ơn"]
    assert [message for _, message in conversation.calls] == ["mất căn cước", "cảm ơn"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-ZEvent-Signature": "mac=" + "0" * 64},
        {"X-ZEvent-Signature": "not-a-mac"},
        "wrong-secret",
    ],
    ids=["missing", "zeros", "garbage", "wrong-secret"],
)
def test_a_bad_or_missing_signature_is_401_and_nothing_is_processed(
    gateway: TestClient,
    conversation: FakeConversation,
    fake_zalo: FakeZalo,
    headers: dict[str, str] | str,
) -> None:
    event = text_event("9", "giả mạo", "msg-forged")
    raw, good = signed(event)
    if headers == "wrong-secret":
        _, forged = signed(event, secret="not-the-secret")
        sent_headers = forged
    else:
        assert isinstance(headers, dict)
        sent_headers = {"content-type": "application/json", **headers}
    response = gateway.post("/webhooks/zalo", content=raw, headers=sent_headers)
    assert response.status_code == 401
    assert "Chữ ký" in response.json()["message"]
    # A tampered body with a signature of the original is rejected too.
    tampered = raw.replace("giả mạo".encode(), "khác".encode())
    assert gateway.post("/webhooks/zalo", content=tampered, headers=good).status_code == 401
    # A genuine delivery afterwards is the only thing answered.
    deliver(gateway, text_event("9", "thật", "msg-real"))
    wait_for(lambda: fake_zalo.sent, what="the genuine reply")
    assert conversation.calls == [("zalo:9", "thật")]
    assert fake_zalo.texts("9") == ["Đã nhận: thật"]


def test_the_webhook_says_503_when_zalo_is_not_configured(
    zalo_settings: Settings, fake_zalo: FakeZalo
) -> None:
    config = zalo_settings.model_copy(update={"zalo_app_id": None, "zalo_oa_secret_key": None})
    with TestClient(create_app(config)) as client:
        raw, headers = signed(text_event("1", "xin chào", "m"))
        response = client.post("/webhooks/zalo", content=raw, headers=headers)
    assert response.status_code == 503
    assert "chưa được cấu hình" in response.json()["message"]
    assert fake_zalo.send_calls == []


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_a_signed_but_malformed_body_is_a_clear_400(gateway: TestClient, body: bytes) -> None:
    response = gateway.post(
        "/webhooks/zalo",
        content=body,
        headers={"X-ZEvent-Signature": "mac=00", "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["message"] and "Traceback" not in response.text


def test_oa_echo_events_are_ignored(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo
) -> None:
    echo = text_event("5", "tin của OA", "msg-echo", event_name="oa_send_text")
    assert deliver(gateway, echo).status_code == 200
    deliver(gateway, text_event("5", "câu hỏi", "msg-q"))
    wait_for(lambda: fake_zalo.sent, what="the reply to the real question")
    assert conversation.calls == [("zalo:5", "câu hỏi")]
    assert len(fake_zalo.sent) == 1


def test_follow_gets_the_welcome_message(gateway: TestClient, fake_zalo: FakeZalo) -> None:
    event = {
        "app_id": APP_ID,
        "event_name": "follow",
        "follower": {"id": "3030"},
        "oa_id": "oa-1",
        "source": "oa_profile",
        "timestamp": str(int(time.time() * 1000)),
    }
    assert deliver(gateway, event).status_code == 200
    wait_for(lambda: fake_zalo.sent, what="the welcome")
    assert fake_zalo.texts("3030") == [text("zalo_welcome")]
    assert "Chào mừng" in fake_zalo.sent[0]["text"]


@pytest.mark.parametrize(
    ("event_name", "message"),
    [
        ("user_send_image", {"msg_id": "i1", "attachments": [{"type": "image", "payload": {"url": "x"}}]}),
        ("user_send_sticker", {"msg_id": "s1", "attachments": [{"type": "sticker", "payload": {"id": "1"}}]}),
        ("user_send_location", {"msg_id": "l1", "attachments": [{"type": "location"}]}),
        ("user_send_file", {"msg_id": "f1", "attachments": [{"type": "file"}]}),
        ("user_send_gif", {"msg_id": "g1", "attachments": [{"type": "gif"}]}),
        ("user_send_audio", {"msg_id": "a1", "attachments": [{"type": "audio"}]}),
    ],
)
def test_non_text_events_get_a_polite_reply(
    gateway: TestClient,
    conversation: FakeConversation,
    fake_zalo: FakeZalo,
    event_name: str,
    message: dict[str, object],
) -> None:
    event = {
        "app_id": APP_ID,
        "event_name": event_name,
        "sender": {"id": "6060"},
        "recipient": {"id": "oa-1"},
        "message": message,
        "timestamp": str(int(time.time() * 1000)),
    }
    assert deliver(gateway, event).status_code == 200
    wait_for(lambda: fake_zalo.sent, what="the polite reply")
    assert fake_zalo.texts("6060") == [text("zalo_not_text")]
    assert "chỉ đọc được tin nhắn chữ" in fake_zalo.sent[0]["text"]
    assert conversation.calls == []


def test_buttons_are_numbered_and_a_digit_answer_sends_the_payload(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo
) -> None:
    conversation.replies.append(
        [
            {
                "text": "Anh/Chị muốn biết gì về thủ tục cấp lại căn cước?",
                "buttons": [
                    {"title": "Hồ sơ cần gì", "payload": '/ask_documents{"procedure":"cap-lai-cccd"}'},
                    {"title": "Lệ phí", "payload": '/ask_fee{"procedure":"cap-lai-cccd"}'},
                ],
                "links": [{"title": "Trang thủ tục", "url": "https://dichvucong.gov.vn/p/1"}],
            }
        ]
    )
    deliver(gateway, text_event("77", "mất căn cước", "m1"))
    wait_for(lambda: fake_zalo.sent, what="the menu")
    menu = fake_zalo.sent[0]["text"]
    assert "1. Hồ sơ cần gì\n2. Lệ phí" in menu
    assert "Trang thủ tục: https://dichvucong.gov.vn/p/1" in menu
    assert "trả lời bằng số" in menu
    deliver(gateway, text_event("77", " 2 ", "m2"))
    wait_for(lambda: len(fake_zalo.sent) >= 2, what="the answer to the choice")
    assert conversation.calls[1] == ("zalo:77", '/ask_fee{"procedure":"cap-lai-cccd"}')
    # That reply had no buttons: a digit now is just text for the dialogue.
    deliver(gateway, text_event("77", "2", "m3"))
    wait_for(lambda: len(fake_zalo.sent) >= 3, what="the third reply")
    assert conversation.calls[2] == ("zalo:77", "2")


def test_a_long_reply_is_split_into_ordered_messages_under_the_limit(
    gateway: TestClient, conversation: FakeConversation, fake_zalo: FakeZalo
) -> None:
    sentences = [f"Bước {i}: Anh/Chị chuẩn bị giấy tờ số {i} theo hướng dẫn của cơ quan." for i in range(90)]
    long_text = " ".join(sentences)
    assert len(long_text) > 4000
    conversation.replies.append([{"text": long_text, "buttons": [], "links": []}])
    deliver(gateway, text_event("88", "hướng dẫn chi tiết", "m-long"))
    wait_for(lambda: " ".join(fake_zalo.texts("88")) == long_text, what="all parts, in order")
    parts = fake_zalo.texts("88")
    assert len(parts) >= 3
    assert all(len(part) <= 2000 for part in parts)
    assert all(part.endswith(".") for part in parts)  # cut on sentence boundaries
    assert fake_zalo.bad_requests == []


def test_two_gateway_instances_sharing_redis_answer_a_redelivery_once(
    zalo_settings: Settings, fake_zalo: FakeZalo, redis_url: str
) -> None:
    config = zalo_settings.model_copy(update={"redis_url": redis_url})
    fakes = [FakeConversation(), FakeConversation()]
    with TestClient(create_app(config)) as first, TestClient(create_app(config)) as second:
        for client, fake in zip((first, second), fakes, strict=True):
            client.app.state.zalo.channel.conversation = fake  # type: ignore[attr-defined]
        event = text_event("61", "xin chào", "msg-shared")
        assert deliver(first, event).status_code == 200
        assert deliver(second, event).status_code == 200
        deliver(second, text_event("61", "tiếp", "msg-next"))
        wait_for(lambda: len(fake_zalo.sent) >= 2, what="two replies")
    # Leaving the block drained both instances' in-flight events.
    assert sorted(m for fake in fakes for _, m in fake.calls) == ["tiếp", "xin chào"]
    assert sorted(fake_zalo.texts("61")) == ["Đã nhận: tiếp", "Đã nhận: xin chào"]


def test_through_the_real_rasa_client_buttons_round_trip_as_digits(
    zalo_settings: Settings, fake_zalo: FakeZalo
) -> None:
    """The real ConversationService and RasaClient against a loopback stand-in for Rasa's
    REST channel: Rasa's buttons reach the citizen numbered, the digit goes back as the payload."""
    received: list[dict[str, str]] = []
    rasa = FastAPI()

    @rasa.post("/webhooks/rest/webhook")
    async def rest(request: Request) -> list[dict[str, object]]:
        body = await request.json()
        received.append(body)
        if body["message"].startswith("/"):
            return [{"recipient_id": body["sender"], "text": "Lệ phí: 30.000 đồng."}]
        return [
            {
                "recipient_id": body["sender"],
                "text": "Anh/Chị muốn hỏi gì?",
                "buttons": [
                    {"title": "Hồ sơ cần gì", "payload": "/ask_documents"},
                    {"title": "Lệ phí", "payload": "/ask_fee"},
                ],
            },
            {
                "recipient_id": body["sender"],
                "custom": {"links": [{"title": "Xem chi tiết", "url": "https://dichvucong.gov.vn/p/9"}]},
            },
        ]

    with Served(rasa, port=zalo_settings.rasa_port), TestClient(create_app(zalo_settings)) as client:
        deliver(client, text_event("555", "lam lai cccd", "r1"))
        wait_for(lambda: fake_zalo.sent, what="the menu")
        deliver(client, text_event("555", "2", "r2"))
        wait_for(lambda: len(fake_zalo.sent) >= 2, what="the fee answer")
    assert [{"sender": b["sender"], "message": b["message"]} for b in received] == [
        {"sender": "zalo:555", "message": "lam lai cccd"},
        {"sender": "zalo:555", "message": "/ask_fee"},
    ]
    menu, fee = fake_zalo.texts("555")
    assert menu.startswith(
        "Anh/Chị muốn hỏi gì?\n1. Hồ sơ cần gì\n2. Lệ phí\nXem chi tiết: https://dichvucong.gov.vn/p/9"
    )
    assert fee == "Lệ phí: 30.000 đồng."
