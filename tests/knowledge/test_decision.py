"""The decision: calibrated probabilities and thresholds, on the real seed index."""

from __future__ import annotations

import json

import pytest

from knowledge.decision import FEATURES, MODEL_FILE, DecisionModel, Logistic, decide, load_model
from knowledge.search import Searcher


def test_the_shipped_model_is_complete_and_says_how_it_was_calibrated() -> None:
    model = load_model()
    for logistic in (model.right, model.held):
        assert len(logistic.coef) == len(logistic.mean) == len(logistic.scale) == len(FEATURES)
    assert 0.5 < model.confident_at < 1.0 and 0.0 < model.no_match_below < 1.0
    provenance = json.loads(MODEL_FILE.read_text(encoding="utf-8"))["provenance"]
    assert provenance["by"] == "congdan eval --calibrate" and provenance["dev_questions"]


def test_thresholds_decide_between_answer_clarify_and_no_match() -> None:
    zero = tuple(0.0 for _ in FEATURES)
    one = tuple(1.0 for _ in FEATURES)
    coverage_only = tuple(4.0 if f == "cov_first" else 0.0 for f in FEATURES)
    model = DecisionModel(
        right=Logistic(coverage_only, -2.0, zero, one),
        held=Logistic(coverage_only, 0.0, zero, one),
        confident_at=0.9,
        no_match_below=0.3,
    )
    assert decide({"cov_first": 1.5}, model) == "confident"  # p_right = σ(4) = 0.98
    assert decide({"cov_first": 1.0}, model) == "ambiguous"  # p_right = σ(2) = 0.88, p_held 0.98
    assert decide({"cov_first": 0.0}, model) == "ambiguous"  # p_held = σ(0) = 0.5
    assert decide({"cov_first": -0.5}, model) == "no_match"  # p_held = σ(-2) = 0.12


@pytest.mark.parametrize(
    "question",
    ["mất căn cước làm lại thế nào", "cho tôi hỏi làm hộ chiếu", "lam lai cccd bi mat"],
)
def test_a_clear_catalogue_question_is_answered(searcher: Searcher, question: str) -> None:
    assert searcher.search(question).decision == "confident"


@pytest.mark.parametrize("question", ["hộ khẩu", "giấy tờ xe", "làm sổ đỏ"])
def test_a_question_naming_a_family_gets_a_clarifying_question(searcher: Searcher, question: str) -> None:
    result = searcher.search(question)
    assert result.decision == "ambiguous" and len(result.results) >= 2


@pytest.mark.parametrize(
    "question",
    [
        "xin giấy phép kinh doanh karaoke",
        "thủ tục đăng ký nhãn hiệu hàng hóa ở cục sở hữu trí tuệ",
        "cấp phép cho trung tâm đào tạo lái xe",
        "Thủ tục cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu gồm những hồ sơ gì?",
        "đăng ký tàu cá cho thuyền đánh bắt xa bờ",
    ],
)
def test_a_question_that_only_shares_words_with_a_procedure_is_never_answered_with_it(
    searcher: Searcher, question: str
) -> None:
    assert searcher.search(question).decision != "confident"


@pytest.mark.parametrize(
    "question", ["giá vàng hôm nay bao nhiêu", "cách nấu phở bò ngon", "thời tiết hà nội mai"]
)
def test_off_topic_questions_get_no_match(searcher: Searcher, question: str) -> None:
    assert searcher.search(question).decision == "no_match"


def test_a_place_in_the_question_does_not_steer_the_search(searcher: Searcher) -> None:
    # The place once brought three foreign-element birth registrations and not the plain one.
    placed = searcher.search("tôi ở phường Bến Nghé quận 1 cũ, làm khai sinh ở đâu")
    assert placed.results[0].name == "Thủ tục đăng ký khai sinh"
    assert placed.decision != "no_match"
