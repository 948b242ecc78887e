"""The dossier form and actions with the real simulator process, a real SQLite database,
``Tracker.from_dict`` and a ``CollectingDispatcher``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import dossier as dossier_actions
from actions import runtime
from actions.dossier import (
    ActionCancelDossier,
    ActionCheckDossier,
    ActionSubscribeDossier,
    ValidateDossierForm,
)
from knowledge.db import dossier_subscriptions, migrate
from tests.conftest import free_port
from tests.portal.conftest import Sim, make_client, sim, simulator  # noqa: F401 - fixtures

DOMAIN: dict[str, Any] = {
    "forms": {"dossier_form": {"required_slots": ["dossier_code", "phone_last4"]}},
    "slots": {"dossier_code": {"type": "text"}, "phone_last4": {"type": "text"}},
}
UNKNOWN = "000.00.99.H99-990101-9999"


@pytest.fixture(autouse=True)
def settings(tmp_path, monkeypatch) -> Iterator[None]:
    """Its own var/ and SQLite database (no search index needed here)."""
    for key in ("CONGDAN_DATABASE_URL", "CONGDAN_REDIS_URL", "CONGDAN_PORTAL_URL", "CONGDAN_HOTLINE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CONGDAN_VAR_DIR", str(tmp_path / "var"))
    runtime.reset()
    migrate(runtime.settings().sqlalchemy_url)
    yield
    runtime.reset()


@pytest.fixture
def portal(sim: Sim) -> Iterator[Sim]:  # noqa: F811 - pytest fixture
    dossier_actions.use_portal(make_client(sim.base, deadline_s=1.0, attempts=2))
    yield sim
    dossier_actions.use_portal(None)


def tracker(
    text: str,
    slots: dict[str, Any] | None = None,
    requested: str | None = None,
    sender: str = "web:citizen-a",
    intent: str = "check_dossier_status",
    set_at: float | None = None,
) -> Tracker:
    """A tracker as the action server gets it; while the form asks for a slot, Rasa has
    already filled that slot with the message text (the from_text mapping)."""
    all_slots = {"dossier_code": None, "phone_last4": None, "requested_slot": requested, **(slots or {})}
    # slots set earlier in the conversation, as Rasa sends them: slot events with a timestamp
    events: list[dict[str, Any]] = [
        {"event": "slot", "name": name, "value": value, "timestamp": set_at or time.time()}
        for name, value in (slots or {}).items()
    ]
    events.append({"event": "user", "text": text})
    if requested:
        all_slots[requested] = text
        events.append({"event": "slot", "name": requested, "value": text})
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": all_slots,
            "latest_message": {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": "dossier_form"} if requested else {},
            "latest_action_name": "action_listen",
        }
    )


async def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, DOMAIN)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, slots


def row(sim: Sim, status: int, index: int = 0) -> dict[str, Any]:  # noqa: F811
    return [d for d in sim.dossiers() if d["status"] == status][index]


def wrong_digits(last4: str) -> str:
    return f"{(int(last4) + 1) % 10000:04d}"


@pytest.mark.parametrize(
    "message",
    [
        "000.00.04.H51-200221-0001",
        "000.00.04.h51-200221-0001",
        "mã hồ sơ của tôi là 000 00 04 h51 200221 0001 nhé",
        "ho so 000.00.04.H51 - 200221 - 0001 den dau roi",
        "  000. 00. 04. H51-200221-0001  ",
    ],
)
async def test_messy_codes_are_normalised(message: str) -> None:
    messages, slots = await run(ValidateDossierForm(), tracker(message, requested="dossier_code"))
    assert slots["dossier_code"] == "000.00.04.H51-200221-0001"
    assert messages == []


@pytest.mark.parametrize("message", ["hồ sơ của tôi", "000.00.04-0001", "H51 200221", "123456789"])
async def test_wrong_code_format_is_explained_with_an_example(message: str) -> None:
    messages, slots = await run(ValidateDossierForm(), tracker(message, requested="dossier_code"))
    assert slots["dossier_code"] is None
    assert messages[0]["response"] == "utter_dossier_code_format"
    assert messages[0]["example"] == "000.00.04.H51-200221-0001"


@pytest.mark.parametrize("message", ["5678", "4 số cuối là 5678", "so cuoi la 5678 nha", "dạ 5678 ạ"])
async def test_last_four_digits_are_accepted_in_a_short_sentence(message: str) -> None:
    slots_in = {"dossier_code": "000.00.04.H51-200221-0001"}
    messages, slots = await run(ValidateDossierForm(), tracker(message, slots_in, requested="phone_last4"))
    assert slots["phone_last4"] == "5678" and messages == []


@pytest.mark.parametrize("message", ["567", "56789", "0912345678", "không nhớ"])
async def test_anything_but_four_digits_is_asked_again(message: str) -> None:
    slots_in = {"dossier_code": "000.00.04.H51-200221-0001"}
    messages, slots = await run(ValidateDossierForm(), tracker(message, slots_in, requested="phone_last4"))
    assert slots["phone_last4"] is None
    assert messages[0]["response"] == "utter_dossier_phone_format"


async def test_verified_lookup_explains_status_next_step_date_and_link(portal: Sim) -> None:
    item = row(portal, 4)
    slots_in = {"dossier_code": item["code"], "phone_last4": item["phone_last4"]}
    messages, slots = await run(ActionCheckDossier(), tracker("x", slots_in))
    answer = messages[0]
    assert "Tình trạng: Đang xử lý" in answer["text"]
    assert "Việc cần làm:" in answer["text"] and "Ngày hẹn trả kết quả:" in answer["text"]
    assert answer["custom"]["links"][0]["url"].startswith("https://")
    assert [b["payload"] for b in answer["buttons"]] == ["/subscribe_dossier", "/check_dossier_status"]
    assert slots["dossier_code"] is None and slots["phone_last4"] is None  # ready for the next dossier
    assert slots["verified_dossier"] == item["code"]


async def test_status_5_says_what_to_add_and_where(portal: Sim) -> None:
    item = row(portal, 5)
    slots_in = {"dossier_code": item["code"], "phone_last4": item["phone_last4"]}
    messages, _ = await run(ActionCheckDossier(), tracker("x", slots_in))
    text = messages[0]["text"]
    assert "Yêu cầu bổ sung giấy tờ" in text
    assert "Cần bổ sung:" in text and "Nộp bổ sung tại: Bộ phận một cửa" in text


async def test_final_status_offers_no_subscription(portal: Sim) -> None:
    item = row(portal, 10)
    slots_in = {"dossier_code": item["code"], "phone_last4": item["phone_last4"]}
    messages, _ = await run(ActionCheckDossier(), tracker("x", slots_in))
    assert "Đã trả kết quả" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/check_dossier_status"]


async def test_wrong_digits_and_unknown_code_get_the_same_answer(portal: Sim) -> None:
    item = row(portal, 2)
    wrong = {"dossier_code": item["code"], "phone_last4": wrong_digits(str(item["phone_last4"]))}
    unknown = {"dossier_code": UNKNOWN, "phone_last4": str(item["phone_last4"])}
    first, slots_a = await run(ActionCheckDossier(), tracker("x", wrong, sender="web:a"))
    second, slots_b = await run(ActionCheckDossier(), tracker("x", unknown, sender="web:b"))
    assert first == second == [{**first[0], "response": "utter_dossier_mismatch", "tries_left": 2}]
    assert "verified_dossier" not in slots_a and "verified_dossier" not in slots_b
    assert str(item["phone_last4"]) not in str(first)


async def test_three_failed_tries_lock_the_dossier_for_this_conversation(portal: Sim) -> None:
    item = row(portal, 4, index=1)
    wrong = {"dossier_code": item["code"], "phone_last4": wrong_digits(str(item["phone_last4"]))}
    right = {"dossier_code": item["code"], "phone_last4": item["phone_last4"]}
    replies = [(await run(ActionCheckDossier(), tracker("x", wrong)))[0][0] for _ in range(3)]
    assert [r.get("tries_left") for r in replies[:2]] == [2, 1]
    assert replies[2]["response"] == "utter_dossier_locked" and replies[2]["hotline"] == "1900 1234"
    served = portal.served()
    locked, slots = await run(ActionCheckDossier(), tracker("x", right))
    assert locked[0]["response"] == "utter_dossier_locked" and "verified_dossier" not in slots
    assert portal.served() == served  # a locked lookup does not reach the portal
    # the form ends at once when a locked code is given again
    _, form_slots = await run(
        ValidateDossierForm(), tracker(str(item["code"]), requested="dossier_code", sender="web:citizen-a")
    )
    assert form_slots["requested_slot"] is None
    ended_early, _ = await run(ActionCheckDossier(), tracker("x", {"dossier_code": item["code"]}))
    assert ended_early[0]["response"] == "utter_dossier_locked"
    # another conversation is not affected
    _, slots = await run(ActionCheckDossier(), tracker("x", right, sender="web:citizen-b"))
    assert slots["verified_dossier"] == item["code"]


async def test_enumerating_many_codes_locks_the_conversation(portal: Sim) -> None:
    for seq in range(9):
        code = f"000.00.99.H99-990101-{seq:04d}"
        await run(ActionCheckDossier(), tracker("x", {"dossier_code": code, "phone_last4": "1111"}))
    item = row(portal, 4, index=2)
    right = {"dossier_code": item["code"], "phone_last4": item["phone_last4"]}
    messages, _ = await run(ActionCheckDossier(), tracker("x", right))
    assert messages[0]["response"] == "utter_dossier_locked"


async def test_portal_down_apologises_with_the_hotline_and_does_not_count_a_try() -> None:
    dossier_actions.use_portal(make_client(f"http://127.0.0.1:{free_port()}", attempts=2))
    try:
        code = "000.00.04.H51-200221-0001"
        for _ in range(4):
            messages, slots = await run(
                ActionCheckDossier(), tracker("x", {"dossier_code": code, "phone_last4": "1234"})
            )
            assert messages == [
                {**messages[0], "response": "utter_portal_unavailable", "hotline": "1900 1234"}
            ]
            assert slots["dossier_code"] is None
    finally:
        dossier_actions.use_portal(None)
    assert dossier_actions._state("web:citizen-a", code).tries_left == 3


async def test_slow_portal_gets_the_apology_not_a_hang(portal: Sim) -> None:
    item = row(portal, 4)
    portal.faults(latency_s=30)
    slots_in = {"dossier_code": item["code"], "phone_last4": item["phone_last4"]}
    messages, _ = await run(ActionCheckDossier(), tracker("x", slots_in))
    assert messages[0]["response"] == "utter_portal_unavailable"


async def test_subscribe_after_a_verified_lookup(portal: Sim) -> None:
    item = row(portal, 4)
    t = tracker("báo cho tôi khi có kết quả", {"verified_dossier": item["code"]}, intent="subscribe_dossier")
    messages, _ = await run(ActionSubscribeDossier(), t)
    assert messages[0]["response"] == "utter_subscribed" and messages[0]["code"] == item["code"]
    again, _ = await run(ActionSubscribeDossier(), t)
    assert again[0]["response"] == "utter_subscribed"
    with runtime.engine().connect() as connection:
        rows = connection.execute(sa.select(dossier_subscriptions)).all()
    assert [(r.conversation, r.dossier_code, r.last_status, r.active) for r in rows] == [
        ("web:citizen-a", item["code"], 4, True)
    ]


async def test_subscribe_without_a_lookup_asks_for_one_first(portal: Sim) -> None:
    messages, _ = await run(ActionSubscribeDossier(), tracker("báo cho tôi", intent="subscribe_dossier"))
    assert messages[0]["response"] == "utter_subscribe_needs_lookup"


async def test_subscribe_to_a_finished_dossier_is_declined(portal: Sim) -> None:
    item = row(portal, 10)
    t = tracker("báo tôi", {"verified_dossier": item["code"]}, intent="subscribe_dossier")
    messages, _ = await run(ActionSubscribeDossier(), t)
    assert messages[0]["response"] == "utter_subscribe_final"


async def test_our_logs_never_carry_codes_or_digits(portal: Sim, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    item = row(portal, 4)
    right = {"dossier_code": item["code"], "phone_last4": item["phone_last4"]}
    wrong = {"dossier_code": item["code"], "phone_last4": wrong_digits(str(item["phone_last4"]))}
    await run(ActionCheckDossier(), tracker("x", right, sender="web:log-a"))
    await run(ActionCheckDossier(), tracker("x", wrong, sender="web:log-b"))
    portal.faults(error_rate=1.0)
    await run(ActionCheckDossier(), tracker("x", right, sender="web:log-c"))
    portal.faults(malformed_rate=1.0)
    await run(ActionCheckDossier(), tracker("x", right, sender="web:log-d"))
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("actions", "bot.portal"))]
    assert ours  # the failures were logged…
    serial = str(item["code"]).rsplit("-", 1)[-1]
    for message in ours:  # …without the code or the digits
        assert serial not in message and str(item["phone_last4"]) not in message


async def test_leaving_the_form_forgets_the_code() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("gặp cán bộ", {"dossier_code": "000.00.04.H51-200221-0001"}, intent="request_human")
    events = await ActionCancelDossier().run(dispatcher, t, DOMAIN)
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in events if e["event"] == "active_loop"
    ]
    assert {e["name"]: e["value"] for e in events if e["event"] == "slot"}["dossier_code"] is None
    assert dispatcher.messages == []


# --- issue 15: the lookup cannot be guessed across conversations or through Unicode ---------


def audit_rows(action: str) -> list[Any]:
    from bot.console.tables import audit_log

    with runtime.engine().connect() as connection:
        return connection.execute(sa.select(audit_log).where(audit_log.c.action == action)).all()


async def test_ten_failures_from_new_conversations_lock_the_dossier_for_everyone(portal: Sim) -> None:
    item = row(portal, 4, index=3)
    wrong = {"dossier_code": item["code"], "phone_last4": wrong_digits(str(item["phone_last4"]))}
    right = {"dossier_code": item["code"], "phone_last4": item["phone_last4"]}
    for n in range(10):  # an attacker opening a fresh conversation for every guess
        replies, _ = await run(ActionCheckDossier(), tracker("x", wrong, sender=f"web:guess-{n}"))
    assert "đường dây nóng 1900 1234" in replies[0]["text"] and "tạm khóa" in replies[0]["text"]
    served = portal.served()
    locked, slots = await run(ActionCheckDossier(), tracker("x", right, sender="web:the-real-citizen"))
    assert "tạm khóa" in locked[0]["text"] and "verified_dossier" not in slots
    assert portal.served() == served  # locked: the portal is not even asked
    assert len(audit_rows("dossier.locked")) == 1
    # an operator unlocks it (audited); the citizen's right digits work again
    from bot.portal.lockout import unlock_dossier

    result = unlock_dossier(runtime.engine(), str(item["code"]).lower(), "admin-a", runtime.settings())
    assert result.forgiven == 10
    _, slots = await run(ActionCheckDossier(), tracker("x", right, sender="web:the-real-citizen"))
    assert slots["verified_dossier"] == item["code"]
    [unlocked] = audit_rows("dossier.unlock")
    assert unlocked.actor == "admin-a" and unlocked.target == item["code"]


async def test_failures_spread_over_other_dossiers_do_not_lock_this_one(portal: Sim) -> None:
    item = row(portal, 4, index=4)
    for n in range(12):
        other = {"dossier_code": f"000.00.99.H99-990101-{n:04d}", "phone_last4": "1111"}
        await run(ActionCheckDossier(), tracker("x", other, sender=f"web:other-{n}"))
    right = {"dossier_code": item["code"], "phone_last4": item["phone_last4"]}
    _, slots = await run(ActionCheckDossier(), tracker("x", right, sender="web:fresh"))
    assert slots["verified_dossier"] == item["code"]


def to_script(ascii_digits: str, zero: str) -> str:
    """``"1234"`` written with the digits of the script whose zero is ``zero``."""
    return "".join(chr(ord(zero) + int(d)) for d in ascii_digits)


SCRIPTS = ["０", "٠", "۰", "०", "০", "๐", "߀", "𝟎"]  # full-width, Arabic-Indic, …, mathematical


@pytest.mark.parametrize("zero", SCRIPTS)
async def test_other_digit_forms_are_no_oracle(portal: Sim, zero: str) -> None:
    """Before: full-width digits made compare_digest raise only when the code existed,
    before the try was counted. Now: folded to ASCII, the same answer, and counted."""
    item = row(portal, 2, index=1)
    typed_wrong = to_script(wrong_digits(str(item["phone_last4"])), zero)
    existing = {"dossier_code": item["code"], "phone_last4": typed_wrong}
    unknown = {"dossier_code": UNKNOWN, "phone_last4": typed_wrong}
    first, _ = await run(ActionCheckDossier(), tracker("x", existing, sender="web:u1"))
    second, _ = await run(ActionCheckDossier(), tracker("x", unknown, sender="web:u2"))
    assert first == second == [{**first[0], "response": "utter_dossier_mismatch", "tries_left": 2}]
    assert dossier_actions._state("web:u1", str(item["code"])).tries_left == 2  # the try counted
    typed_right = to_script(str(item["phone_last4"]), zero)
    _, slots = await run(
        ActionCheckDossier(), tracker("x", {**existing, "phone_last4": typed_right}, sender="web:u3")
    )
    assert slots["verified_dossier"] == item["code"]


async def test_the_try_is_recorded_before_the_digits_are_compared(
    portal: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = row(portal, 4, index=5)
    from bot.portal.models import Dossier

    def exploding(self: Dossier, last4: str) -> bool:
        raise RuntimeError("comparison blew up")

    monkeypatch.setattr(Dossier, "phone_matches", exploding)
    slots_in = {"dossier_code": item["code"], "phone_last4": item["phone_last4"]}
    with pytest.raises(RuntimeError):
        await run(ActionCheckDossier(), tracker("x", slots_in, sender="web:boom"))
    assert dossier_actions._state("web:boom", str(item["code"])).tries_left == 2


async def test_dossier_codes_are_stored_as_an_hmac_under_the_server_secret(portal: Sim) -> None:
    import hashlib

    from knowledge.db import dossier_lookup_attempts

    item = row(portal, 4)
    code = str(item["code"])
    await run(ActionCheckDossier(), tracker("x", {"dossier_code": code, "phone_last4": "0000"}))
    with runtime.engine().connect() as connection:
        [stored] = connection.execute(sa.select(dossier_lookup_attempts)).all()
    assert code not in str(tuple(stored))
    plain = hashlib.sha256(f"congdan.dossier:{code}".encode()).hexdigest()
    assert stored.dossier_key != plain and stored.dossier_key[:40] != plain[:40]
    from bot.portal.lockout import key_of
    from bot.settings import Settings

    other_server = Settings(session_secret="x" * 40)  # type: ignore[arg-type]
    assert key_of(code, runtime.settings()) == stored.dossier_key != key_of(code, other_server)


async def test_a_verified_dossier_is_forgotten_after_30_minutes(portal: Sim) -> None:
    item = row(portal, 4)
    old = time.time() - 31 * 60
    t = tracker("báo tôi", {"verified_dossier": item["code"]}, intent="subscribe_dossier", set_at=old)
    messages, slots = await run(ActionSubscribeDossier(), t)
    assert messages[0]["response"] == "utter_subscribe_needs_lookup"
    assert slots == {"verified_dossier": None}
    recent = time.time() - 29 * 60
    t = tracker("báo tôi", {"verified_dossier": item["code"]}, intent="subscribe_dossier", set_at=recent)
    messages, _ = await run(ActionSubscribeDossier(), t)
    assert messages[0]["response"] == "utter_subscribed"
