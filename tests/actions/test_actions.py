"""Every branch of the custom actions, with a real index and a real SQLite database,
a ``Tracker.from_dict`` and a ``CollectingDispatcher`` (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.conversation import ActionFallback, ActionHandoff, ActionStoreFeedback
from actions.procedures import ASPECTS, ActionAnswerAspect, ActionAnswerProcedure, ActionShowCandidates
from actions.texts import render
from bot import inbox
from knowledge.db import migrate

DOMAIN: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def database(settings):
    migrate(settings.sqlalchemy_url)
    yield


def tracker(text: str, intent: str, slots: dict[str, Any] | None = None, entities=None) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": "web:test-sender",
            "slots": slots or {},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 0.9},
                "entities": entities or [],
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


async def run(action, t: Tracker) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, DOMAIN)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, slots


async def test_confident_question_gets_a_short_answer_with_link_aspects_and_feedback() -> None:
    messages, slots = await run(
        ActionAnswerProcedure(), tracker("mất căn cước làm lại thế nào", "ask_procedure")
    )
    answer = messages[0]
    assert answer["text"].startswith("Cấp lại thẻ căn cước")
    assert "Lệ phí" in answer["text"] and "Thời gian giải quyết" in answer["text"]
    procedure = runtime.searcher().procedure("cancuoc.cap-lai")
    assert procedure is not None
    # One button per aspect the catalogue knows for this procedure, in the table's order.
    expected = [render(a.button) for a in ASPECTS.values() if a.button and a.known(procedure)]
    assert [b["title"] for b in answer["buttons"]] == expected
    assert {"Hồ sơ cần gì", "Lệ phí", "Nộp ở đâu"} <= set(expected)
    assert answer["custom"]["links"][0]["url"].startswith("https://")
    assert messages[1]["response"] == "utter_ask_feedback"
    assert slots["procedure_id"] == "cancuoc.cap-lai" and slots["fallback_count"] == 0.0


async def test_ambiguous_question_offers_up_to_three_candidates_as_buttons(searcher) -> None:
    query = "giấy phép lái xe"  # renew, reissue, international permit, first issue…
    assert searcher.search(query).decision == "ambiguous"
    messages, slots = await run(ActionAnswerProcedure(), tracker(query, "ask_procedure"))
    *buttons, way_out = messages[0]["buttons"]
    assert 1 < len(buttons) <= 3
    assert all(b["payload"].startswith('/choose_procedure{"procedure_id": "') for b in buttons)
    assert slots["candidates"] == [b["payload"].split('"')[3] for b in buttons]
    assert way_out == {"title": "Không phải các thủ tục trên", "payload": "/none_of_these"}
    assert slots["procedure_id"] is None  # a follow-up is about these candidates


async def test_choosing_a_candidate_answers_that_procedure() -> None:
    entities = [{"entity": "procedure_id", "value": "hotich.ket-hon"}]
    messages, slots = await run(
        ActionAnswerProcedure(),
        tracker('/choose_procedure{"procedure_id": "hotich.ket-hon"}', "choose_procedure", entities=entities),
    )
    assert messages[0]["text"].startswith("Đăng ký kết hôn") and slots["procedure_id"] == "hotich.ket-hon"


async def test_no_match_apologises_offers_an_officer_and_queues_the_question(settings) -> None:
    messages, slots = await run(
        ActionAnswerProcedure(), tracker("giá vàng hôm nay bao nhiêu", "ask_procedure")
    )
    assert messages[0]["text"].startswith("Danh mục của tôi chưa có hướng dẫn cho việc này")
    assert messages[0]["buttons"] == [{"title": "Gặp cán bộ", "payload": "/request_human"}]
    link = messages[0]["custom"]["links"][0]
    assert (
        link["url"].startswith("https://dichvucong.gov.vn/") and "keyword=gi%C3%A1%20v%C3%A0ng" in link["url"]
    )
    assert slots["fallback_count"] == 1.0
    queued = inbox.list_unanswered(runtime.engine())
    assert queued[0]["question"] == "giá vàng hôm nay bao nhiêu" and queued[0]["channel"] == "web"


async def test_follow_up_uses_the_current_procedure() -> None:
    messages, slots = await run(
        ActionAnswerAspect(), tracker("còn lệ phí thì sao?", "ask_fee", {"procedure_id": "cancuoc.cap-lai"})
    )
    assert "Cấp lại thẻ căn cước" in messages[0]["text"]
    assert "Lệ phí" not in [b["title"] for b in messages[0]["buttons"]]
    assert slots["procedure_id"] == "cancuoc.cap-lai"


async def test_unknown_fee_is_said_to_be_unknown_never_invented(searcher) -> None:
    residence = searcher.procedure("dvc-612362818d18c024c839e7ce")
    assert residence is not None and residence.fees is None
    messages, _ = await run(
        ActionAnswerAspect(), tracker("/ask_fee", "ask_fee", {"procedure_id": residence.id})
    )
    assert "chưa có thông tin lệ phí" in messages[0]["text"]


async def test_documents_are_listed_with_form_links(searcher) -> None:
    messages, _ = await run(
        ActionAnswerAspect(),
        tracker("/ask_documents", "ask_documents", {"procedure_id": "dvc-612362818d18c024c839e7ce"}),
    )
    text = messages[0]["text"]
    assert text.startswith('Hồ sơ cần chuẩn bị cho "Đăng ký thường trú"')
    assert "1. Tờ khai thay đổi thông tin cư trú" in text
    assert any("download_file" in link["url"] for link in messages[0]["custom"]["links"])


async def test_a_follow_up_naming_another_procedure_switches_to_it() -> None:
    _, slots = await run(
        ActionAnswerAspect(),
        tracker("lệ phí làm hộ chiếu bao nhiêu", "ask_fee", {"procedure_id": "cancuoc.cap-lai"}),
    )
    assert slots["procedure_id"] == "xnc.ho-chieu"


async def test_follow_up_without_any_procedure_asks_which_one() -> None:
    messages, slots = await run(ActionAnswerAspect(), tracker("mất mấy ngày", "ask_duration"))
    assert "thủ tục nào" in messages[0]["text"] and slots == {}


async def test_not_that_one_goes_back_to_the_other_candidates() -> None:
    slots = {"procedure_id": "gplx.doi", "candidates": ["gplx.doi", "gplx.cap-lai", "gplx.quoc-te"]}
    messages, events = await run(ActionShowCandidates(), tracker("không phải cái đó", "deny", slots))
    *payloads, way_out = [b["payload"] for b in messages[0]["buttons"]]
    assert len(payloads) == 2 and all("gplx.doi" not in p for p in payloads)
    assert way_out == "/none_of_these"
    assert events["procedure_id"] is None


async def test_handoff_creates_a_ticket_and_says_what_happens_next(settings) -> None:
    messages, _ = await run(
        ActionHandoff(), tracker("cho tôi gặp cán bộ", "request_human", {"last_question": "x"})
    )
    assert messages[0]["response"] == "utter_handoff"
    assert messages[0]["hotline"] == settings.hotline and messages[0]["ticket"].startswith("HT-")
    tickets = inbox.list_handoffs(runtime.engine())
    assert tickets[0]["code"] == messages[0]["ticket"] and tickets[0]["reason"] == "citizen_request"


async def test_fallback_answers_from_the_catalogue_when_search_is_sure() -> None:
    messages, slots = await run(ActionFallback(), tracker("lam lai can cuoc bi mat", "nlu_fallback"))
    assert messages[0]["text"].startswith("Cấp lại thẻ căn cước")
    assert slots["procedure_id"] == "cancuoc.cap-lai"


async def test_two_fallbacks_in_a_row_hand_over_to_an_officer() -> None:
    first, slots = await run(ActionFallback(), tracker("asdkjh qwe", "nlu_fallback"))
    assert first[0]["response"] == "utter_default" and slots["fallback_count"] == 1.0
    second, _ = await run(ActionFallback(), tracker("zzz xxx", "nlu_fallback", {"fallback_count": 1.0}))
    assert second[0]["response"] == "utter_handoff"
    assert inbox.list_handoffs(runtime.engine())[0]["reason"] == "two_fallbacks"


async def test_feedback_is_stored_with_the_question_and_procedure() -> None:
    slots = {"procedure_id": "hotich.ket-hon", "last_question": "đăng ký kết hôn"}
    entities = [{"entity": "rating", "value": "down"}]
    messages, _ = await run(
        ActionStoreFeedback(), tracker('/feedback{"rating": "down"}', "feedback", slots, entities)
    )
    assert messages[0]["response"] == "utter_feedback_thanks"
    stored = inbox.list_feedback(runtime.engine())[0]
    assert stored["rating"] == "down" and stored["procedure_id"] == "hotich.ket-hon"
    assert stored["conversation"] != "web:test-sender"  # pseudonymised
