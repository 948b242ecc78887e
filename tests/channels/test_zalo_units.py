"""Pure pieces of the Zalo channel: signature, text splitting, numbered choices, and
de-duplication (in process, and in a real Redis server on a loopback port)."""

from __future__ import annotations

import hashlib

import pytest
import redis

from bot.channels.dedup import Deduplicator
from bot.channels.zalo_format import choice_payload, render, split_text
from bot.channels.zalo_signature import is_valid, signature
from tests.conftest import free_port


def test_the_signature_is_plain_sha256_of_the_documented_concatenation() -> None:
    raw = b'{"event_name":"user_send_text"}'
    expected = hashlib.sha256(b"app" + raw + b"1700000000000" + b"secret").hexdigest()
    assert signature("app", raw, "1700000000000", "secret") == f"mac={expected}"
    assert is_valid(f"mac={expected}", "app", raw, "1700000000000", "secret")
    assert is_valid(f"mac={expected.upper()}", "app", raw, "1700000000000", "secret")
    assert not is_valid(f"mac={expected}", "app", raw, "1700000000001", "secret")
    assert not is_valid(f"mac={expected}", "other-app", raw, "1700000000000", "secret")
    assert not is_valid(None, "app", raw, "1700000000000", "secret")
    assert not is_valid(expected, "app", raw, "1700000000000", "secret")  # "mac=" is required


def test_split_prefers_paragraphs_then_lines_then_sentences() -> None:
    paragraph = "Câu một. " * 150  # ~1350 characters
    text = paragraph.strip() + "\n\n" + paragraph.strip()
    parts = split_text(text)
    assert parts == [paragraph.strip(), paragraph.strip()]
    sentences = split_text("Một câu dài. " * 400)
    assert all(len(part) <= 2000 and part.endswith(".") for part in sentences)
    assert "".join(sentences).replace(" ", "") == ("Một câu dài. " * 400).replace(" ", "")


def test_split_cuts_text_without_any_boundary_hard() -> None:
    parts = split_text("x" * 4500)
    assert [len(part) for part in parts] == [2000, 2000, 500]
    assert split_text("   ") == [] and split_text("ngắn") == ["ngắn"]


def test_buttons_are_numbered_across_the_messages_of_one_turn() -> None:
    text, buttons = render(
        [
            {"text": "Chọn thủ tục:", "buttons": [{"title": "Khai sinh", "payload": "/a"}], "links": []},
            {"text": "Hoặc:", "buttons": [{"title": "Tạm trú", "payload": "/b"}], "links": []},
        ]
    )
    assert "1. Khai sinh" in text and "2. Tạm trú" in text
    assert "từ 1 đến 2" in text
    assert buttons == [{"title": "Khai sinh", "payload": "/a"}, {"title": "Tạm trú", "payload": "/b"}]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("1", "/a"),
        (" 2 ", "/b"),
        ("2.", "/b"),
        ("1)", "/a"),
        ("3", None),
        ("0", None),
        ("1 nữa", None),
        ("", None),
    ],
)
def test_a_digit_maps_to_the_payload_of_that_choice(said: str, expected: str | None) -> None:
    buttons = [{"title": "Khai sinh", "payload": "/a"}, {"title": "Tạm trú", "payload": "/b"}]
    assert choice_payload(said, buttons) == expected
    assert choice_payload(said, []) is None


async def test_in_process_dedup_answers_once_per_key_and_stays_bounded() -> None:
    dedup = Deduplicator(max_keys=3)
    assert dedup.backend == "memory"
    assert await dedup.first_time("a") and not await dedup.first_time("a")
    for key in "bcde":
        assert await dedup.first_time(key)
    assert len(dedup._seen) <= 3


async def test_redis_dedup_is_shared_between_gateway_instances(redis_url: str) -> None:
    first, second = Deduplicator(redis_url), Deduplicator(redis_url)
    try:
        assert first.backend == "redis"
        assert await first.first_time("msg:1")
        assert not await second.first_time("msg:1")
        assert await second.first_time("msg:2")
        ttl = redis.Redis.from_url(redis_url).ttl("congdan:zalo:event:msg:1")
        assert 0 < ttl <= 24 * 3600
    finally:
        await first.aclose()
        await second.aclose()


async def test_when_redis_is_down_dedup_falls_back_to_process_memory() -> None:
    dedup = Deduplicator(f"redis://127.0.0.1:{free_port()}/0")
    try:
        assert await dedup.first_time("msg:9")
        assert not await dedup.first_time("msg:9")
    finally:
        await dedup.aclose()
