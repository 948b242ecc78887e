"""Property tests for the log masks: whatever shape a phone number, ID number, e-mail
address or dossier code takes in a sentence, none of its digits survive in the log line;
ordinary numbers (years, amounts, dates, the hotline) are left alone."""

from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from bot.logs import PiiMaskingFilter, mask_pii
from bot.portal.codes import find_code

digit = st.sampled_from("0123456789")
sep = st.sampled_from(["", " ", ".", "-"])
FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}


def written(digits: str, seps: list[str]) -> str:
    return "".join(d + s for d, s in zip(digits, [*seps, ""], strict=False))


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    """(how it is written, its significant digits)."""
    landline = draw(st.booleans())
    body = draw(
        st.text(alphabet="0123456789", min_size=10 if landline else 9, max_size=10 if landline else 9)
    )
    body = draw(st.sampled_from("23" if landline else "35789")) + body[1:]
    prefix = draw(st.sampled_from(["0", "+84", "84", "+84 "]))
    seps = draw(st.lists(sep, min_size=len(body) - 1, max_size=len(body) - 1))
    text = prefix + written(body, seps)
    if landline and prefix == "0" and draw(st.booleans()):
        text = f"({prefix}{body[:2]}) {written(body[2:], seps[2:])}"
    return text, body


@given(phones(), st.sampled_from(["gọi {} nhé", "SĐT: {}", "{}", "số {}, cảm ơn"]))
def test_phone_numbers_mobile_and_landline_are_masked(phone: tuple[str, str], sentence: str) -> None:
    text, body = phone
    masked = mask_pii(sentence.format(text))
    assert "[SĐT]" in masked and body[-6:] not in masked.replace(" ", "").replace(".", "").replace("-", "")


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.sampled_from([3, 4, 12]), sep)
def test_id_numbers_written_in_groups_are_masked(number: str, group: int, between: str) -> None:
    grouped = (between or " ").join(number[i : i + group] for i in range(0, 12, group))
    masked = mask_pii(f"số căn cước {grouped} của tôi")
    assert number[-6:] not in masked.replace(" ", "").replace(".", "").replace("-", "")


@given(
    st.from_regex(r"[a-z][a-z0-9._+-]{0,15}", fullmatch=True),
    st.from_regex(r"[a-z0-9-]{1,10}(\.[a-z]{2,4}){1,2}", fullmatch=True),
)
def test_email_addresses_are_masked(local: str, domain: str) -> None:
    masked = mask_pii(f"email của tôi là {local}@{domain} ạ")
    assert "@" not in masked and "[EMAIL]" in masked


@st.composite
def codes(draw: st.DrawFn) -> str:
    digits = draw(st.text(alphabet="0123456789", min_size=19, max_size=19))
    parts = [digits[0:3], digits[3:5], digits[5:7]]
    dot = draw(st.sampled_from([".", ",", " ", " . ", ""]))
    dash = draw(st.sampled_from(["-", "–", "_", "/", " ", " - "]))
    letter = draw(st.sampled_from("HhKkT"))
    code = dot.join(parts) + dot + letter + digits[7:9] + dash + digits[9:15] + dash + digits[15:19]
    if draw(st.booleans()):
        code = "".join(FULL_WIDTH.get(ch, ch) for ch in code)
    return code


@given(codes())
def test_dossier_codes_in_every_accepted_form_are_masked(code: str) -> None:
    text = f"hồ sơ {code} đến đâu rồi"
    assert find_code(text) is not None  # the lookup would accept it…
    masked = mask_pii(text)
    assert find_code(masked) is None and "[HỒ-SƠ:" in masked  # …and the log cannot show it


@given(st.integers(1900, 2100), st.integers(1, 999))
def test_ordinary_numbers_stay_readable(year: int, thousands: int) -> None:
    text = f"năm {year}, lệ phí {thousands}.000 đồng, ngày 12/03/{year}, gọi 1900 1234"
    assert mask_pii(text) == text


def test_the_filter_masks_arguments_before_any_handler_sees_them() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "hỏi %s qua %s", ("0283 823 4567", "a@b.vn"), None
    )
    PiiMaskingFilter().filter(record)
    assert record.getMessage() == "hỏi [SĐT] qua [EMAIL]"
