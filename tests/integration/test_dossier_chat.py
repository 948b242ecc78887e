"""Dossier status end to end: gateway → Rasa (trained model) → action server → portal
simulator, all real processes on loopback; then a status change reaches the citizen
through GET /api/notifications."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.portal.simulator import listing, seed_dossiers
from tests.integration.conftest import chat, texts

pytestmark = pytest.mark.integration
KEY = {"X-API-Key": "dev-portal-key"}


def seeded(status: int, index: int = 0) -> dict[str, object]:
    return [row for row in listing(seed_dossiers()) if row["status"] == status][index]


def test_lookup_subscribe_and_notification_through_the_chat(stack: dict[str, object]) -> None:
    base, portal = str(stack["base"]), str(stack["portal"])
    item = seeded(4, index=5)
    code, last4 = str(item["code"]), str(item["phone_last4"])

    asked = chat(base, None, "cho tôi tra cứu hồ sơ")
    session = str(asked["session"])
    assert "mã hồ sơ" in texts(asked)
    spaced = code.lower().replace(".", " ").replace("-", " ")
    phone_q = chat(base, session, f"mã là {spaced}")
    assert "4 số cuối" in texts(phone_q)
    answer = chat(base, session, f"4 số cuối là {last4}")
    assert "Tình trạng: Đang xử lý" in texts(answer) and last4 not in texts(answer).replace(code, "")
    assert answer["messages"][0]["links"]  # type: ignore[index]

    subscribed = chat(base, session, "báo cho tôi khi có kết quả")
    assert "Đã đăng ký" in texts(subscribed)

    other = seeded(5, index=5)  # a second dossier in the same conversation
    chat(base, session, f"còn hồ sơ {other['code']} thì sao")
    second = texts(chat(base, session, str(other["phone_last4"])))
    assert "Yêu cầu bổ sung giấy tờ" in second and "Cần bổ sung:" in second

    httpx.post(f"{portal}/_admin/dossiers/{code}/status", json={"status": 9}, headers=KEY).raise_for_status()
    found: list[dict[str, object]] = []
    deadline = time.monotonic() + 30
    while not found and time.monotonic() < deadline:
        response = httpx.get(f"{base}/api/notifications", params={"session": session}, timeout=5)
        assert response.status_code == 200
        found = response.json()["notifications"]
        time.sleep(0.5)
    assert len(found) == 1 and "Đã xử lý xong" in str(found[0]["text"])


def test_wrong_digits_and_unknown_code_read_the_same_then_lock(stack: dict[str, object]) -> None:
    base = str(stack["base"])
    item = seeded(2, index=5)
    wrong = f"{(int(str(item['phone_last4'])) + 1) % 10000:04d}"

    def attempt(session: str | None, code: str, digits: str) -> tuple[str, str]:
        first = chat(base, session, f"tra cứu hồ sơ {code}")
        return str(first["session"]), texts(chat(base, str(first["session"]), digits))

    session_a, reply_a = attempt(None, str(item["code"]), wrong)
    _, reply_b = attempt(None, "000.00.99.H99-990101-9999", wrong)
    assert reply_a == reply_b and "chưa khớp" in reply_a
    _, second = attempt(session_a, str(item["code"]), wrong)
    _, third = attempt(session_a, str(item["code"]), wrong)
    assert "còn 1 lần" in second and "tạm khóa" in third
    locked = texts(chat(base, session_a, f"tra cứu hồ sơ {item['code']}"))
    assert "tạm khóa" in locked  # locked at once: no digits asked


def test_a_code_in_the_wrong_format_is_explained(stack: dict[str, object]) -> None:
    base = str(stack["base"])
    session = str(chat(base, None, "tra cuu ho so")["session"])
    reply = texts(chat(base, session, "ma ho so la 12345678"))
    assert "000.00.04.H51-200221-0001" in reply and "chưa đúng dạng" in reply


def test_asking_for_an_officer_leaves_the_lookup(stack: dict[str, object]) -> None:
    base = str(stack["base"])
    session = str(chat(base, None, "tra cứu hồ sơ giúp tôi")["session"])
    reply = texts(chat(base, session, "cho tôi gặp cán bộ"))
    assert "cán bộ" in reply and "mã yêu cầu" in reply
    after = texts(chat(base, session, "xin chào"))
    assert "Xin chào Anh/Chị" in after  # the form is no longer waiting for a code


def test_slow_portal_gets_an_apology_with_the_hotline(stack: dict[str, object]) -> None:
    base, portal = str(stack["base"]), str(stack["portal"])
    item = seeded(1, index=5)
    httpx.post(f"{portal}/_admin/faults", json={"latency_s": 30}, headers=KEY).raise_for_status()
    try:
        session = str(chat(base, None, f"tra cứu hồ sơ {item['code']}")["session"])
        reply = texts(chat(base, session, str(item["phone_last4"])))
    finally:
        httpx.delete(f"{portal}/_admin/faults", headers=KEY).raise_for_status()
    assert "Cổng Dịch vụ công đang chậm" in reply and "1900 1234" in reply
