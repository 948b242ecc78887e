"""Property tests: dossier codes and the 4 digits are parsed as ASCII whatever digit forms
the citizen's keyboard produced (every Unicode decimal digit, category Nd), and the
comparison never raises, so it cannot tell an existing dossier from an unknown one."""

from __future__ import annotations

import datetime as dt
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.portal.codes import find_code, find_last4, fold_digits
from bot.portal.models import Dossier, StatusChange

NON_ASCII_DIGITS = st.characters(categories=["Nd"]).filter(lambda ch: not ch.isascii())
ANY_DIGITS = st.characters(categories=["Nd"])


def dossier(phone: str) -> Dossier:
    at = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    return Dossier(
        code="000.00.04.H51-200221-0001",
        procedure_name="Đăng ký khai sinh",
        agency="UBND xã",
        status=4,
        applicant_phone=phone,
        received_at=at,
        history=[StatusChange(status=4, at=at)],
    )


def ascii_of(text: str) -> str:
    return "".join(str(unicodedata.digit(ch)) for ch in text)


@given(st.lists(ANY_DIGITS, min_size=4, max_size=4).map("".join))
def test_four_digits_in_any_script_become_their_ascii_digits(typed: str) -> None:
    found = find_last4(f"4 số cuối là {typed} ạ")
    assert found == ascii_of(typed)
    assert found.isascii() and found.isdigit()


@given(st.lists(ANY_DIGITS, min_size=5, max_size=8).map("".join))
def test_more_than_four_digits_in_any_script_are_refused(typed: str) -> None:
    assert find_last4(typed) is None


@given(st.lists(ANY_DIGITS, min_size=19, max_size=19).map("".join), st.sampled_from("HhKk"))
def test_codes_in_any_script_normalise_to_ascii(digits: str, letter: str) -> None:
    d = digits
    typed = f"mã {d[0:3]}.{d[3:5]}.{d[5:7]}.{letter}{d[7:9]}-{d[9:15]}-{d[15:19]} nhé"
    a = ascii_of(d)
    assert find_code(typed) == f"{a[0:3]}.{a[3:5]}.{a[5:7]}.{letter.upper()}{a[7:9]}-{a[9:15]}-{a[15:19]}"


@given(st.text(max_size=8))
def test_phone_comparison_never_raises_and_matches_only_the_ascii_digits(candidate: str) -> None:
    applicant = dossier("0912345678")
    assert applicant.phone_matches(candidate) is (candidate == "5678")


@given(st.lists(NON_ASCII_DIGITS, min_size=4, max_size=4).map("".join))
def test_unfolded_digit_forms_never_match_but_their_folding_does(typed: str) -> None:
    applicant = dossier("09123" + ascii_of(typed).rjust(5, "0"))
    assert applicant.phone_matches(typed) is False  # raw non-ASCII: no match, no exception
    assert applicant.phone_matches(fold_digits(typed)) is True
