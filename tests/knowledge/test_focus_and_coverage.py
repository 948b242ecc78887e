"""Place mentions leave the question; coverage weighs what is left."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.coverage import Vocabulary
from knowledge.focus import focus, place_spans

# (question, what must be gone, what must stay)
PLACES = [
    ("tôi ở phường Bến Nghé quận 1 cũ, làm khai sinh ở đâu", ["Bến", "Nghé", "quận"], ["khai sinh"]),
    ("o xa tan lap huyen dan phuong lam lai cccd", ["tan lap", "dan phuong"], ["lam lai cccd"]),
    (
        "bà ngoại 80 tuổi ở xã Tân Lập huyện Đan Phượng mất căn cước",
        ["Tân", "Phượng"],
        ["80 tuổi", "mất căn cước"],  # an age can be the need itself (trên 80 tuổi)
    ),
    ("p. 5 q. 3 tp.HCM đăng ký tạm trú", ["HCM"], ["đăng ký tạm trú"]),
    ("em ở Hà Nội muốn đăng ký kết hôn", ["Hà Nội"], ["đăng ký kết hôn"]),
    ("làm sổ đỏ ở thị xã Sơn Tây", ["Sơn Tây"], ["làm sổ đỏ"]),
    ("dang ky thuong tru o tphcm cho con", ["tphcm"], ["dang ky thuong tru", "cho con"]),
]


@pytest.mark.parametrize(("question", "gone", "kept"), PLACES)
def test_place_mentions_leave_the_question(question: str, gone: list[str], kept: list[str]) -> None:
    core = focus(question)
    for word in gone:
        assert word not in core
    for phrase in kept:
        assert phrase in core


@pytest.mark.parametrize(
    "question",
    [
        "bảo hiểm xã hội một lần",  # "xã hội" is no commune
        "nghia vu quan su",  # nor "quân sự" a district
        "dang ky phuong tien giao thong",  # nor "phương tiện" a ward
        "tinh trang ho so cua toi",  # nor "tình trạng" a province
        "giấy xác nhận tình trạng hôn nhân",
    ],
)
def test_words_that_only_look_like_places_stay(question: str) -> None:
    assert place_spans(question) == []
    assert focus(question) == question


@given(st.text(max_size=200))
def test_focus_never_fails_and_never_returns_nothing_for_words(text: str) -> None:
    core = focus(text)
    if any(ch.isalnum() for ch in text):
        assert core.strip()


def vocabulary() -> Vocabulary:
    passages = [
        (0, "name", "Cấp giấy phép lái xe"),
        (0, "alias", "thi bằng lái xe máy"),
        (1, "name", "Đăng ký khai sinh"),
        (1, "question", "Làm giấy khai sinh cho con cần gì?"),
        (2, "name", "Đăng ký kết hôn"),
        (2, "steps", "Nộp tờ khai tại Ủy ban nhân dân cấp xã nơi cư trú"),
    ]
    return Vocabulary.build(3, passages)


def test_a_candidate_that_lacks_the_object_of_the_question_covers_less() -> None:
    keys = vocabulary().keys("cấp phép cho trung tâm đào tạo lái xe")
    assert keys.coverage(0) < 0.7
    assert {"trung", "tâm", "đào", "tạo"} <= set(keys.missing(0))
    assert vocabulary().keys("cấp giấy phép lái xe ở đâu").coverage(0) == 1.0


def test_aspect_and_filler_words_are_no_key_terms() -> None:
    keys = vocabulary().keys("cho tôi hỏi làm giấy khai sinh cho con mất bao lâu, lệ phí bao nhiêu ạ")
    assert set(keys.terms) <= {"khai", "sinh", "giấy"}
    assert keys.coverage(1) == 1.0


def test_words_no_procedure_mentions_weigh_most() -> None:
    keys = vocabulary().keys("xin giấy phép kinh doanh karaoke")
    assert "karaoke" in keys.terms
    assert keys.unknown_share() > 0.2
    assert keys.side.weight("karaoke") > keys.side.weight("phép")


def test_accented_words_are_compared_accented_and_unaccented_ones_folded() -> None:
    v = vocabulary()
    # "hộ" (household) is content, "họ" (they) is filler; typed without marks both fold to "ho".
    assert "hộ" in v.keys("đăng ký hộ khẩu").terms
    assert "họ" not in v.keys("họ bảo tôi đăng ký kết hôn").terms
    assert v.keys("dang ky ket hon").coverage(2) == 1.0
