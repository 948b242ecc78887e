"""Text analysis for retrieval: BM25 terms, typo correction, diacritic restoration.

BM25 terms are accent-folded syllables, syllable bigrams and underthesea compounds,
so "lam giay khai sinh" and "làm giấy khai sinh" share every term. Dense encoders do
poorly on unaccented Vietnamese, so ``Restorer`` puts the diacritics back using the
catalogue's own vocabulary before a query is encoded.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable

from knowledge.normalize import fold, has_diacritics, typed_without_diacritics, word_set, words

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


# Words of a question that ask about an aspect of a procedure rather than name one
# ("còn lệ phí thì sao", "mất mấy ngày", "nop online duoc ko"), accent-folded.
ASPECT_WORDS = word_set(
    """con le phi tien bao nhieu het mat may ngay lau thoi gian nop o dau cho nao noi truc tuyen online
    mang theo can giay to ho so buoc lam nhu cach thu tuc nay do luat cu phap ly van ban quy dinh ai
    phai co neu muon roi xong tra ket qua gui internet vay ha a chuan bi nhung gi tren web trang dien tu
    lenh"""
)
# Words that carry no part of *what* is asked for: pronouns, kin, particles, everyday verbs
# and adverbs of a story ("giờ", "cái", "bị", "mới"). They neither name a procedure nor set
# one apart, so the coverage check (knowledge/coverage.py) does not ask candidates to hold them.
FILLER_WORDS = word_set(
    """ong ba bo me cha vo chong con chau anh chi em co chu bac di duong cau mo ngoai noi nha gia dinh
    toi tui tao minh ho no ai nguoi ta chung ban be hang xom ong ay
    ah a a oi nhe nha nhi ha hả vay day do kia ne thoi luon lun nua cung van deu chi moi vua sap dang da
    se bi duoc phai nen can muon dinh tinh biet hieu thay nghe noi xin on giup do vui long
    gio bay hom nay mai qua truoc sau khi luc lan nam thang tuan ngay tuoi
    cai chiec cuon to tam bo mot hai ba bon nam sau bay tam chin muoi nhieu it het moi tat ca
    rat qua lam hon nhat that su thuc nhu the nao sao gi dau bao ntn
    o tai tu den ve ra vao len xuong trong ngoai tren duoi cho voi cua va hay hoac ma neu thi la
    di den dua mang gui xem coi tim
    ok oke duoc khong chua roi xong ha hu hix huhu
    gap lo lo roi mat toi khan cap nhanh gom doi"""
)


def syllables(text: str) -> list[str]:
    """Folded word tokens of the normalised text."""
    return [fold(w) for w in words(text)]


def _compounds(text: str) -> list[str]:
    """underthesea multi-syllable words of accented text, folded (``can_cuoc``)."""
    if typed_without_diacritics(text):
        return []  # segmenting unaccented text is unreliable; bigrams cover it
    return [fold(w.lower()).replace(" ", "_") for w in _segment(text) if " " in w]


_SEGMENTER_LOADED = threading.Event()
_SEGMENTER_LOADING = threading.Lock()


def _segment(text: str) -> list[str]:
    """underthesea's word segmentation. Its model loads on first use and that load is not
    thread-safe (a search and a publish arriving together crashed), so the first call is
    made under a lock; later calls run freely."""
    from underthesea import word_tokenize

    if not _SEGMENTER_LOADED.is_set():
        with _SEGMENTER_LOADING:
            words_ = list(word_tokenize(text))
            _SEGMENTER_LOADED.set()
            return words_
    return list(word_tokenize(text))


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
