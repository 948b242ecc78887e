"""Dossier codes (``000.00.04.H51-200221-0001``): find one in free text and normalise it.

Citizens type them with spaces, lower case, commas for dots or inside a sentence.
"""

from __future__ import annotations

import re

EXAMPLE_CODE = "000.00.04.H51-200221-0001"
CANONICAL = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}$")
_SEP = r"\s*[.,]?\s*"
_DASH = r"\s*[-–_/]?\s*"
_LOOSE = re.compile(
    rf"(?<![\w.])(\d{{3}}){_SEP}(\d{{2}}){_SEP}(\d{{2}}){_SEP}([A-Za-z])\s*(\d{{2}}){_DASH}(\d{{6}}){_DASH}(\d{{4}})(?![\w])"
)


def find_code(text: str | None) -> str | None:
    """The first dossier code in ``text``, normalised, or None."""
    if not text:
        return None
    match = _LOOSE.search(text)
    if not match:
        return None
    a, b, c, letter, d, date, seq = match.groups()
    return f"{a}.{b}.{c}.{letter.upper()}{d}-{date}-{seq}"


def is_canonical(code: str) -> bool:
    return bool(CANONICAL.match(code))


def looks_like_attempted_code(text: str) -> bool:
    """True when the citizen seemingly typed a code (several digits), for a format hint."""
    return len(re.findall(r"\d", text)) >= 6


def find_last4(text: str | None) -> str | None:
    """Exactly four digits, alone or in a short sentence ("4 số cuối là 5678")."""
    if not text:
        return None
    groups = re.findall(r"(?<![\d.-])\d{4}(?![\d.-])", text)
    other_digits = re.sub(r"(?<![\d.-])\d{4}(?![\d.-])", "", text)
    if len(groups) != 1:
        return None
    # "4 số cuối" contains a lone digit: allow only the count word "4"/"bốn" besides the group
    stray = re.findall(r"\d+", other_digits)
    if any(s != "4" for s in stray):
        return None
    return groups[0]
