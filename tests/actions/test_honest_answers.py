"""Honest answers: what the catalogue does not hold, the way out of a clarifying question,
and follow-ups while a clarification is pending (real index, real SQLite, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from actions import runtime
from actions.procedures import (
    ASPECTS,
    ActionAnswerAspect,
    ActionAnswerProcedure,
    ActionNoneOfThese,
    ActionShowCandidates,
    aspect_reply,
)
from bot import inbox
from knowledge.db import migrate
from tests.actions.test_actions import run, tracker


@pytest.fixture(autouse=True)
def database(settings):
    migrate(settings.sqlalchemy_url)
    yield


CIVIL_STATUS = ["dvc-612362828d18c024c839e7d2", "hotich.ket-hon", "hotich.khai-tu"]


async def test_none_of_these_says_the_catalogue_lacks_it_links_the_national_search_and_queues_it() -> None:
    slots = {"candidates": CIVIL_STATUS, "last_question": "giấy tờ cho bà con"}
    messages, events = await run(ActionNoneOfThese(), tracker("/none_of_these", "none_of_these", slots))
    reply = messages[0]
    assert reply["text"].startswith("Danh mục của tôi chưa có hướng dẫn cho việc này")
    assert {"title": "Gặp cán bộ", "payload": "/request_human"} in reply["buttons"]
    assert "keyword=gi%E1%BA%A5y%20t%E1%BB%9D%20cho%20b%C3%A0%20con" in reply["custom"]["links"][0]["url"]
    assert events["candidates"] is None and events["procedure_id"] is None
    queued = inbox.list_unanswered(runtime.engine())[0]
    assert queued["question"] == "giấy tờ cho bà con" and queued["decision"] == "none_of_these"
    assert queued["candidates"] == CIVIL_STATUS


async def test_saying_no_to_a_pending_clarification_is_none_of_these() -> None:
    slots = {"candidates": CIVIL_STATUS, "procedure_id": None, "last_question": "làm giấy tờ cho con"}
    messages, _ = await run(ActionShowCandidates(), tracker("không phải", "deny", slots))
    assert messages[0]["text"].startswith("Danh mục của tôi chưa có hướng dẫn")


async def test_a_follow_up_during_a_clarification_is_about_its_candidates_not_the_earlier_procedure() -> None:
    # "làm căn cước cho con" → "còn giấy khai sinh thì sao" (clarification) → "mất bao lâu"
    slots = {"procedure_id": None, "candidates": CIVIL_STATUS}
    messages, events = await run(ActionAnswerAspect(), tracker("mất bao lâu", "ask_duration", slots))
    text = messages[0]["text"]
    searcher = runtime.searcher()
    for pid in CIVIL_STATUS:
        procedure = searcher.procedure(pid)
        assert procedure is not None and procedure.name in text
    identity = searcher.procedure("cancuoc.cap-lai")
    assert identity is not None and identity.name not in text
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads[-1] == "/none_of_these" and len(payloads) == 4
    assert "procedure_id" not in events  # still waiting for the citizen's choice


async def test_vague_family_question_gets_a_clarifying_question(searcher) -> None:
    messages, slots = await run(ActionAnswerProcedure(), tracker("hộ khẩu", "ask_procedure"))
    assert messages[0]["buttons"][-1]["payload"] == "/none_of_these"
    assert len(slots["candidates"]) >= 2


@pytest.mark.parametrize(
    "question",
    [
        "xin giấy phép kinh doanh karaoke cần những gì",
        "thủ tục cấp phép cho trung tâm đào tạo lái xe",
        "đăng ký tàu cá cho thuyền đánh bắt xa bờ",
    ],
)
async def test_a_question_that_only_shares_words_with_a_procedure_is_not_answered_with_it(
    question: str,
) -> None:
    messages, _ = await run(ActionAnswerProcedure(), tracker(question, "ask_procedure"))
    # Never a confident answer with another procedure's fees and documents.
    assert "Lệ phí:" not in messages[0]["text"]


@pytest.mark.parametrize("aspect", list(ASPECTS))
def test_every_aspect_answer_states_the_fact_or_says_the_catalogue_lacks_it(searcher, aspect: str) -> None:
    procedure = searcher.procedure("dvc-612362818d18c024c839e7ce")
    assert procedure is not None
    text, links = aspect_reply(aspect, procedure)
    spec = ASPECTS[aspect]
    assert procedure.name in text and links
    assert spec.known(procedure) != ("chưa" in text and "danh mục" in text.lower())


def _payloads(messages: list[dict[str, Any]]) -> list[str]:
    return [b["payload"] for b in messages[0].get("buttons") or []]


async def test_buttons_after_an_answer_only_offer_what_the_catalogue_knows(searcher) -> None:
    residence = searcher.procedure("dvc-612362818d18c024c839e7ce")
    assert residence is not None and residence.fees is None
    messages, _ = await run(
        ActionAnswerAspect(), tracker("/ask_documents", "ask_documents", {"procedure_id": residence.id})
    )
    assert "/ask_fee" not in _payloads(messages) and "/ask_documents" not in _payloads(messages)
