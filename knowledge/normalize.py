"""Vietnamese text normalisation shared by the Rasa tokenizer and the retrieval index.

Pure standard library and importable from Python 3.8+ (the Rasa runtime runs 3.10),
so no 3.11-only syntax and no heavy imports. The flat API mirrors underthesea's:

    normalize("Mất CCCD thì làm lại ko?")  -> "mất căn cước công dân thì làm lại không ?"
    fold("làm giấy khai sinh")             -> "lam giay khai sinh"
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import FrozenSet, List

from knowledge.abbreviations import ABBREVIATIONS

_TAG = re.compile(r"<[^>]{0,2000}>")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\ufeff]")
_SPACES = re.compile(r"\s+")
# A token is a run of letters/digits (Vietnamese letters are \w) or a lone symbol.
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)
# Scraping debris seen in the national database export.
_DEBRIS = re.compile(r"Xem chi tiết", re.IGNORECASE)


def strip_html(text: str) -> str:
    """Remove tags and decode entities; keeps the text between tags."""
    return html.unescape(_TAG.sub(" ", text))


def clean(text: str) -> str:
    """NFC, HTML and scraping debris removed, control characters dropped, spaces collapsed.

    Keeps case and diacritics: this is the form shown to people.
    """
    text = unicodedata.normalize("NFC", str(text))
    text = strip_html(text)
    text = _DEBRIS.sub(" ", text)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def tokens(text: str) -> List[str]:
    """Lower-cased tokens of cleaned text, abbreviations expanded (may add tokens)."""
    out: List[str] = []
    for token in _TOKEN.findall(clean(text).lower()):
        expansion = ABBREVIATIONS.get(token)
        out.extend(expansion.split() if expansion else [token])
    return out


def normalize(text: str) -> str:
    """The canonical form for matching: clean, lower case, abbreviations expanded."""
    return " ".join(tokens(text))


def fold(text: str) -> str:
    """Remove Vietnamese diacritics (đ→d); idempotent and total on any string."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese accent mark or đ."""
    return fold(text) != text


_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)


def typed_without_diacritics(text: str) -> bool:
    """True when the raw text was typed (mostly) without accent marks.

    Judged on the text as typed: ``normalize`` expands abbreviations ("ko" → "không")
    and so adds diacritics the asker never typed. In accented Vietnamese most syllables
    carry a mark; under a quarter means the asker typed without them.
    """
    letters = _LETTERS.findall(clean(text))
    if not letters:
        return False
    return sum(1 for w in letters if has_diacritics(w)) < 0.25 * len(letters)


def word_set(text: str) -> FrozenSet[str]:
    """The whitespace-separated words of a word list written as prose."""
    return frozenset(text.split())


def words(text: str) -> List[str]:
    """The normalised word tokens only (punctuation dropped)."""
    return _WORD.findall(normalize(text))
