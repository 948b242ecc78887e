from hypothesis import given
from hypothesis import strategies as st

from knowledge.abbreviations import ABBREVIATIONS
from knowledge.normalize import clean, fold, has_diacritics, normalize, typed_without_diacritics, words


def test_folding_removes_every_vietnamese_mark_and_d_bar() -> None:
    assert fold("Đăng ký khai sinh, giấy chứng nhận quyền sử dụng đất") == (
        "Dang ky khai sinh, giay chung nhan quyen su dung dat"
    )


def test_unaccented_and_accented_questions_normalise_to_the_same_folded_words() -> None:
    assert fold(normalize("Làm lại CĂN CƯỚC bị mất")) == normalize("lam lai can cuoc bi mat")


def test_abbreviations_and_teencode_are_expanded() -> None:
    assert normalize("mất cccd ko biết dk lại ntn") == (
        "mất căn cước công dân không biết đăng ký lại như thế nào"
    )
    assert "giấy phép lái xe" in normalize("GPLX hết hạn")
    assert "bảo hiểm xã hội" in normalize("rút BHXH 1 lần")


def test_abbreviation_table_is_curated_and_large_enough() -> None:
    assert len(ABBREVIATIONS) >= 80
    for short in (
        "ko",
        "k",
        "dc",
        "đc",
        "dk",
        "đk",
        "cccd",
        "cmnd",
        "gplx",
        "bhxh",
        "bhyt",
        "mst",
        "gks",
        "ubnd",
    ):
        assert short in ABBREVIATIONS, short


def test_html_scraping_debris_and_control_characters_are_removed() -> None:
    assert clean("Phí: 200000 ĐồngXem chi tiết</p>\x00\u200b") == "Phí: 200000 Đồng"
    assert words("<b>Đăng ký</b>&nbsp;thường trú") == ["đăng", "ký", "thường", "trú"]


def test_decomposed_unicode_is_composed() -> None:
    decomposed = "khai sinh".replace("a", "a") + " ho\u0302\u0300 so\u031b"  # hồ sơ typed as NFD
    assert normalize(decomposed) == "khai sinh hồ sơ"


def test_has_diacritics() -> None:
    assert has_diacritics("khai tử")
    assert not has_diacritics("khai tu")


def test_typing_without_marks_is_judged_on_the_text_as_typed() -> None:
    # normalize() expands "ko" to "không" and "cccd" to "căn cước công dân": the marks it
    # adds must not make an unaccented question look accented.
    assert has_diacritics(normalize("mat cccd lam lai o dau ko"))
    assert typed_without_diacritics("mat cccd lam lai o dau ko")
    assert typed_without_diacritics("đk tam tru cho nguoi thue tro can gi")
    assert not typed_without_diacritics("Mất CCCD làm lại ở đâu không")
    assert not typed_without_diacritics("đăng ký khai sinh cho con")
    assert not typed_without_diacritics("")
    assert not typed_without_diacritics("12345 ???")


@given(st.text())
def test_folding_is_idempotent_and_total(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert not has_diacritics(fold(normalize(text)))


@given(st.text(max_size=300))
def test_normalize_never_raises_and_is_stable(text: str) -> None:
    first = normalize(text)
    assert isinstance(first, str)
    assert normalize(first) == normalize(first)


def test_word_segmentation_can_start_in_many_threads_at_once() -> None:
    # underthesea loads its model on first use; two first uses at once must not crash.
    import subprocess
    import sys

    script = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from knowledge.analysis import _compounds\n"
        "with ThreadPoolExecutor(8) as pool:\n"
        "    results = list(pool.map(_compounds, ['làm căn cước công dân'] * 16))\n"
        "assert all('can_cuoc' in r for r in results), results\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
