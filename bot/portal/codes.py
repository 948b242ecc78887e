"""Dossier codes (``000.00.04.H51-200221-0001``): find one in free text and normalise it.

Citizens type them with spaces, lower case, commas for dots or inside a sentence.
Digits are parsed as ASCII only: other digit forms (full-width "１２３４", Arabic-Indic,
Devanagari, …) are first folded to ASCII with ``fold_digits``, so that whatever the
citizen's keyboard produced, the code and the 4 digits are plain ``0-9`` strings.
"""

from __future__ import annotations

import re
import unicodedata

EXAMPLE_CODE = "000.00.04.H51-200221-0001"
CANONICAL = re.compile(r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}-[0-9]{6}-[0-9]{4}$")
_SEP = r"\s*[.,]?\s*"
_DASH = r"\s*[-–_/]?\s*"
# Public: the logging filter masks every code this finds (bot/logs.py).
CODE_PATTERN = _LOOSE = re.compile(
    rf"(?<![\w.])([0-9]{{3}}){_SEP}([0-9]{{2}}){_SEP}([0-9]{{2}}){_SEP}([A-Za-z])\s*([0-9]{{2}}){_DASH}([0-9]{{6}}){_DASH}([0-9]{{4}})(?![\w])"
)
_FOUR = re.compile(r"(?<![0-9.-])[0-9]{4}(?![0-9.-])")


def fold_digits(text: str) -> str:
    """Every character with a decimal digit value (``unicodedata.digit``) as its ASCII digit.

    >>> fold_digits("１２３４ và ٥٦٧٨")
    '1234 và 5678'
    """
    if text.isascii():
        return text
    out = []
    for ch in text:
        value = unicodedata.digit(ch, None) if not ch.isascii() else None
        out.append(str(value) if value is not None else ch)
    return "".join(out)


def find_code(text: str | None) -> str | None:
    """The first dossier code in ``text``, normalised, or None."""
    if not text:
        return None
    match = _LOOSE.search(fold_digits(text))
    if not match:
        return None
    a, b, c, letter, d, date, seq = match.groups()
    return f"{a}.{b}.{c}.{letter.upper()}{d}-{date}-{seq}"


def is_canonical(code: str) -> bool:
    return bool(CANONICAL.match(code))


def looks_like_attempted_code(text: str) -> bool:
    """True when the citizen seemingly typed a code (several digits), for a format hint."""
    return len(re.findall(r"[0-9]", fold_digits(text))) >= 6


def find_last4(text: str | None) -> str | None:
    """Exactly four digits, alone or in a short sentence ("4 số cuối là 5678")."""
    if not text:
        return None
    text = fold_digits(text)
    groups = _FOUR.findall(text)
    other_digits = _FOUR.sub("", text)
    if len(groups) != 1:
        return None
    # "4 số cuối" contains a lone digit: allow only the count word "4"/"bốn" besides the group
    stray = re.findall(r"[0-9]+", other_digits)
    if any(s != "4" for s in stray):
        return None
    return groups[0]
