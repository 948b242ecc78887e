"""Text analysis for retrieval: BM25 terms, typo correction, diacritic restoration.

BM25 terms are accent-folded syllables, syllable bigrams and underthesea compounds,
so "lam giay khai sinh" and "làm giấy khai sinh" share every term. Dense encoders do
poorly on unaccented Vietnamese, so ``Restorer`` puts the diacritics back using the
catalogue's own vocabulary before a query is encoded.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable

from knowledge.normalize import fold, has_diacritics, typed_without_diacritics, words

# Folded function words that carry no meaning for finding a procedure. Folding merges
# words (căn/cần → can, đỏ/đó → do), so only words with no content twin are listed.
STOPWORDS = frozenset(
    [
        "thi",
        "la",
        "a",
        "ah",
        "ak",
        "nhe",
        "nha",
        "oi",
        "vay",
        "ha",
        "nhi",
        "the",
        "nao",
        "sao",
        "gi",
        "toi",
        "em",
        "minh",
        "anh",
        "ban",
        "hoi",
        "xin",
        "vui",
        "long",
        "giup",
        "voi",
        "ad",
        "admin",
        "cua",
        "va",
        "hay",
        "hoac",
        "duoc",
        "khong",
        "phai",
        "nhung",
        "cac",
        "mot",
        "nay",
        "day",
        "kia",
        "roi",
        "se",
    ]
)


def syllables(text: str) -> list[str]:
    """Folded word tokens of the normalised text."""
    return [fold(w) for w in words(text)]


def _compounds(text: str) -> list[str]:
    """underthesea multi-syllable words of accented text, folded (``can_cuoc``)."""
    if typed_without_diacritics(text):
        return []  # segmenting unaccented text is unreliable; bigrams cover it
    from underthesea import word_tokenize

    return [fold(w.lower()).replace(" ", "_") for w in word_tokenize(text) if " " in w]


def terms(text: str, compounds: bool = True) -> list[str]:
    """BM25 terms: content syllables, adjacent-syllable bigrams and compounds."""
    syl = syllables(text)
    content = [s for s in syl if s not in STOPWORDS]
    bigrams = [f"{a}_{b}" for a, b in itertools.pairwise(syl) if not (a in STOPWORDS and b in STOPWORDS)]
    extra = _compounds(text) if compounds else []
    return content + bigrams + [c for c in extra if c not in bigrams]


class TypoCorrector:
    """Maps unknown folded syllables to a known one at edit distance 1 (SymSpell-style)."""

    def __init__(self, vocabulary: Counter[str]) -> None:
        self._vocab = vocabulary
        self._deletes: dict[str, list[str]] = defaultdict(list)
        for word in vocabulary:
            for variant in self._variants(word):
                self._deletes[variant].append(word)

    @staticmethod
    def _variants(word: str) -> set[str]:
        return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}

    def correct(self, word: str) -> str:
        if word in self._vocab or len(word) < 3 or not word.isalpha():
            return word
        candidates: set[str] = set()
        for variant in self._variants(word):
            candidates.update(self._deletes.get(variant, ()))
        if not candidates:
            return word
        return max(candidates, key=lambda c: (len(c) == len(word), self._vocab[c], c))


class Restorer:
    """Restores diacritics of unaccented words from n-grams seen in the catalogue."""

    MAX_N = 4

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    @classmethod
    def learn(cls, texts: Iterable[str]) -> Restorer:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for text in texts:
            toks = words(text)
            for n in range(1, cls.MAX_N + 1):
                for i in range(len(toks) - n + 1):
                    gram = " ".join(toks[i : i + n])
                    counts[fold(gram)][gram] += 1
        return cls({k: c.most_common(1)[0][0] for k, c in counts.items()})

    def restore(self, text: str) -> str:
        toks = words(text)
        out: list[str] = []
        i = 0
        while i < len(toks):
            for n in range(min(self.MAX_N, len(toks) - i), 0, -1):
                window = toks[i : i + n]
                if any(has_diacritics(t) for t in window):
                    continue
                hit = self.table.get(" ".join(window))
                if hit and (n > 1 or len(window[0]) > 1):
                    out.append(hit)
                    i += n
                    break
            else:
                out.append(toks[i])
                i += 1
        return " ".join(out)
