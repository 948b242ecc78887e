"""Does a candidate procedure cover what the question is about?

Similarity alone cannot tell "cấp giấy phép lái xe" from a question about licensing a
driving school: both share "giấy phép", "lái xe". The coverage check looks at the
question's *key terms* — its content syllables once place names, numbers, filler and
aspect words ("lệ phí", "mất bao lâu") are set aside — and asks how much of their weight
(rarer words weigh more) a candidate's name, aliases and curated questions hold. A key
term that no procedure in the catalogue mentions weighs most: the question is about
something the catalogue does not hold.

    vocab = Vocabulary.build(count, passages)   # once per loaded index
    keys = vocab.keys("cấp phép trung tâm đào tạo lái xe")
    keys.coverage(ordinal)                      # 0.0 … 1.0
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from knowledge.analysis import ASPECT_WORDS, FILLER_WORDS, STOPWORDS
from knowledge.focus import focus
from knowledge.normalize import fold, typed_without_diacritics, word_set, words

# Sections that say what a procedure *is* (its body — steps, documents — says how).
NAMING_SECTIONS = frozenset({"name", "alias", "question"})
# Opening formulas ("cho tôi hỏi", "xin hỏi", "mình muốn hỏi") carry no content.
_OPENERS = re.compile(
    r"\b(?:(?:cho|xin|muon|can)\s+(?:(?:toi|em|minh|chau|con|anh|chi|tui|hoi)\s+)?hoi"
    r"|(?:ad|admin|ban|anh|chi|em)\s+oi)\b"
)
# "hỏi" is a stopword for BM25, but "hội" (an association) folds to it: openers are
# removed above instead.
NOT_KEY = (STOPWORDS - {"hoi"}) | ASPECT_WORDS | FILLER_WORDS
# Accented words whose folded form is a filler or aspect word but which name things
# ("hộ" of hộ chiếu is not "họ", "kết hôn" is not "hơn", "tạm trú" is not "tám").
CONTENT_ACCENTED = word_set(
    """ảnh bản bán bảo bộ bổ bò cá cải căn cân cầu chợ chở chủ chữa chùa chứng cơ cổ cửa cư cử dầu
    điện định đình đỏ đồ dược đường dưỡng hải hàng hạng hộ hỗ hôn hội hiệu kết lâm lễ lô lục mã máy
    mở mô mộ mỏ môi nghề nghệ ngoài nhà nhánh nổ nợ nội quỹ số sổ sở sự sử sư tài tải tạm tâm tạo tật
    thất thẻ thi thú thực tiện trồng tuyển tử tư tự vận vệ vé xưởng dạy đẳng đăng đổi tàu tên tờ tổ"""
)


@dataclass
class Side:
    """Naming syllables per procedure ordinal and their rarity, in one spelling."""

    names: list[frozenset[str]]
    body: frozenset[str]
    idf: dict[str, float]
    unseen_idf: float
    titles: list[frozenset[str]] = field(default_factory=list)  # key syllables of the name alone

    @classmethod
    def build(cls, procedures: int, passages: list[tuple[int, str, list[str]]]) -> Side:
        names: list[set[str]] = [set() for _ in range(procedures)]
        titles: list[set[str]] = [set() for _ in range(procedures)]
        body: set[str] = set()
        for ordinal, section, tokens in passages:
            (names[ordinal] if section in NAMING_SECTIONS else body).update(tokens)
            if section == "name":
                titles[ordinal].update(t for t in tokens if fold(t) not in NOT_KEY)
        df: Counter[str] = Counter()
        for vocabulary in names:
            df.update(vocabulary)
        n = max(procedures, 1)
        frozen = [frozenset(v) for v in names]
        all_names: frozenset[str] = frozenset().union(*frozen) if frozen else frozenset()
        return cls(
            names=frozen,
            body=frozenset(body) | all_names,
            idf={w: math.log((n + 1) / (c + 1)) + 1 for w, c in df.items()},
            unseen_idf=math.log(n + 1) + 1,
            titles=[frozenset(t) for t in titles],
        )

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unseen_idf)


@dataclass
class Keys:
    """A question's key terms in the spelling they are compared in."""

    terms: list[str]
    side: Side
    said: frozenset[str] = frozenset()  # every word of the question, in the same spelling

    @property
    def total(self) -> float:
        return sum(self.side.weight(k) for k in self.terms)

    def coverage(self, ordinal: int) -> float:
        """Share of the key terms' weight that the procedure's naming sections hold (1.0
        when the question has no key term: nothing to miss)."""
        total = self.total
        if not total:
            return 1.0
        held = self.side.names[ordinal]
        return sum(self.side.weight(k) for k in self.terms if k in held) / total

    def title_recall(self, ordinal: int) -> float:
        """Share of the procedure name's key syllables (weighed by rarity, as the question's
        are) that the question says."""
        title = self.side.titles[ordinal] if self.side.titles else frozenset()
        total = sum(self.side.weight(t) for t in title)
        return sum(self.side.weight(t) for t in title if t in self.said) / total if total else 0.0

    def missing(self, ordinal: int) -> list[str]:
        held = self.side.names[ordinal]
        return [k for k in self.terms if k not in held]

    def unknown_share(self) -> float:
        """Share of the key terms' weight that no procedure's text mentions at all."""
        total = self.total
        if not total:
            return 0.0
        return sum(self.side.weight(k) for k in self.terms if k not in self.side.body) / total


@dataclass
class Vocabulary:
    """Both spellings: accented questions are compared accented ("nhãn" is not "nhận"),
    questions typed without marks are compared folded."""

    accented: Side
    folded: Side
    correct: Callable[[str], str] = field(default=lambda word: word)

    @classmethod
    def build(
        cls,
        procedures: int,
        passages: Iterable[tuple[int, str, str]],
        correct: Callable[[str], str] = lambda word: word,
    ) -> Vocabulary:
        """``passages``: (procedure ordinal, section, text) triples."""
        accented = [(o, s, words(t)) for o, s, t in passages]
        folded = [(o, s, [fold(w) for w in ws]) for o, s, ws in accented]
        return cls(Side.build(procedures, accented), Side.build(procedures, folded), correct)

    def keys(self, query: str, core: str | None = None) -> Keys:
        """The question's content syllables, in order, once each. ``core``: the question
        already passed through ``focus`` (the search has it), else it is computed here."""
        text = focus(query) if core is None else core
        unaccented = typed_without_diacritics(query)
        out: list[str] = []
        for word in words(text):
            # Typos are corrected only where the asker typed without marks: an accented word
            # the catalogue does not know ("xăng") is news, not a misspelling.
            folded = self.correct(fold(word)) if unaccented else fold(word)
            named = not unaccented and word in CONTENT_ACCENTED
            if (folded in NOT_KEY and not named) or folded.isdigit() or len(folded) < 2:
                continue
            term = folded if unaccented else word
            if term not in out:
                out.append(term)
        opener = _OPENERS.search(fold(text.lower()))
        if opener:
            # "cho tôi hỏi": the "hỏi" of an opener is no key term.
            out = [t for t in out if fold(t) != "hoi"] if "hoi" in opener.group(0) else out
        said = frozenset(fold(w) if unaccented else w for w in words(text))
        return Keys(out, self.folded if unaccented else self.accented, said)
