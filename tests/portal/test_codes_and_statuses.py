"""Dossier code normalisation (property-based) and the status vocabulary."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.logs import mask_pii
from bot.portal.codes import find_code, find_last4, is_canonical
from bot.portal.replies import change_notice, status_reply
from bot.portal.simulator import seed_dossiers
from bot.portal.statuses import STATUSES

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@st.composite
def codes(draw: st.DrawFn) -> str:
    def n(size: int) -> str:
        return "".join(draw(digits) for _ in range(size))

    letter = draw(st.sampled_from("ABCDGHKT"))
    return f"{n(3)}.{n(2)}.{n(2)}.{letter}{n(2)}-{n(6)}-{n(4)}"


@given(codes(), st.sampled_from(["", "mã hồ sơ là ", "ho so ", "tra giúp "]), st.booleans(), st.booleans())
def test_messy_codes_normalise_to_the_canonical_code(
    code: str, prefix: str, lower: bool, spaced: bool
) -> None:
    typed = code.lower() if lower else code
    if spaced:
        typed = typed.replace(".", " ").replace("-", " - ")
    assert find_code(f"{prefix}{typed} nhé") == code
    assert is_canonical(code)


def test_no_code_in_text_without_one() -> None:
    for text in ("hồ sơ của tôi", "0912345678", "000.00.04-0001", "", None):
        assert find_code(text) is None


def test_last4_only_for_exactly_four_digits() -> None:
    assert find_last4("4 số cuối là 0072") == "0072"
    for text in ("123", "12345", "1234 5678", "0912345678", "số 12 và 3456"):
        assert find_last4(text) is None, text


def test_every_national_status_is_explained_with_a_next_step() -> None:
    assert sorted(STATUSES) == list(range(1, 11))
    for entry in STATUSES.values():
        assert entry.name and entry.meaning.endswith(".") and entry.next_step.endswith(".")
    assert {c for c, s in STATUSES.items() if s.final} == {3, 7, 8, 10}


def test_replies_for_every_seeded_dossier_name_the_status_and_never_the_phone() -> None:
    dossiers = seed_dossiers()
    assert len(dossiers) >= 50 and {d.status for d in dossiers} == set(range(1, 11))
    assert seed_dossiers() == dossiers  # deterministic
    for dossier in dossiers:
        reply = status_reply(dossier)
        assert STATUSES[dossier.status].name in reply and STATUSES[dossier.status].next_step in reply
        assert dossier.applicant_phone not in reply and dossier.applicant_phone[-4:] not in reply.replace(
            dossier.code, ""
        )
        assert STATUSES[dossier.status].name in change_notice(dossier)
        assert dossier.code not in mask_pii(reply)
