"""Retrieval evaluation on the repo's query set (``knowledge/eval/queries.jsonl``).

Indexes the seed catalogue (rebuilt only when it changed), then reports hit@1,
hit@3 and MRR overall and per writing style, no-match precision/recall, the
decision mix, latency, and an ablation (BM25 only, dense only, hybrid).
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge import index
from knowledge.catalogue import load_seed
from knowledge.encoders import Encoder
from knowledge.normalize import fold, typed_without_diacritics
from knowledge.search import THRESHOLDS, Searcher, SearchResult, Thresholds, decide

QUERIES = Path(__file__).with_name("queries.jsonl")
MODES = ("hybrid", "bm25", "dense")


@dataclass
class Query:
    text: str
    gold: list[str]
    style: str


def load_queries(path: Path = QUERIES) -> list[Query]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Query(r["query"], list(r["gold"]), r["style"]) for r in rows]


def _rank(result: SearchResult, gold: list[str]) -> int | None:
    for position, hit in enumerate(result.results, start=1):
        if hit.id in gold:
            return position
    return None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "n": len(ranks),
        "hit@1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "hit@3": round(sum(1 for r in ranks if r is not None and r <= 3) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def utility(decision: str, rank: int | None, in_scope: bool) -> float:
    """What a decision is worth to the citizen: a wrong confident answer costs most."""
    if not in_scope:
        return {"no_match": 1.0, "ambiguous": -0.2, "confident": -1.0}[decision]
    if decision == "confident":
        return 1.0 if rank == 1 else -1.0
    if decision == "ambiguous":
        return 0.6 if rank is not None and rank <= 3 else -0.3
    return -0.5


def calibrate_thresholds(rows: list[tuple[dict[str, float], int | None, bool]]) -> tuple[Thresholds, float]:
    """Grid search of the decision thresholds maximising mean utility."""
    best, best_score = THRESHOLDS, float("-inf")
    grid = itertools.product(
        [0.86, 0.87, 0.88, 0.89, 0.90],
        [8.0, 10.0, 12.0, 14.0],
        [0.88, 0.90, 0.92, 0.94, 1.01],
        [0.05, 0.1, 0.15, 0.2, 0.3, 1.01],
    )
    for nm_dense, nm_bm25, conf_dense, margin in grid:
        thresholds = Thresholds(nm_dense, nm_bm25, conf_dense, margin)
        score = statistics.fmean(utility(decide(s, thresholds), r, i) for s, r, i in rows)
        if score > best_score:
            best, best_score = thresholds, score
    return best, best_score


def run_evaluation(
    index_root: Path, encoder_factory: Callable[[], Encoder], calibrate: bool = False
) -> dict[str, Any]:
    procedures = load_seed()
    encoder = encoder_factory()
    if index.catalogue_changed(index_root, procedures, encoder.name):
        index.build(procedures, encoder, index_root)
    searcher = Searcher(index_root, encoder_factory=lambda: encoder)
    queries = load_queries()
    known = {p.id for p in procedures}
    missing = sorted({g for q in queries for g in q.gold if g not in known})
    searcher.search("khởi động", top=1)  # warm: loaders and first-call costs out of the timings

    report: dict[str, Any] = {"queries": len(queries), "procedures": len(procedures), "unknown_gold": missing}
    for mode in MODES:
        by_style: dict[str, list[int | None]] = defaultdict(list)
        by_accent: dict[str, list[int | None]] = defaultdict(list)
        latencies: list[float] = []
        decisions: dict[str, int] = defaultdict(int)
        rows: list[tuple[dict[str, float], int | None, bool]] = []
        no_match_true = no_match_pred = no_match_hit = 0
        for query in queries:
            result = searcher.search(query.text, top=5, mode=mode)  # type: ignore[arg-type]
            latencies.append(result.ms)
            in_scope = bool(query.gold)
            rank = _rank(result, query.gold) if in_scope else None
            decisions[result.decision] += 1
            rows.append((result.signals, rank, in_scope))
            no_match_true += not in_scope
            no_match_pred += result.decision == "no_match"
            no_match_hit += (not in_scope) and result.decision == "no_match"
            if in_scope:
                by_style[query.style].append(rank)
                by_style["_all"].append(rank)
                by_accent["unaccented" if typed_without_diacritics(query.text) else "accented"].append(rank)
        if mode == "hybrid":
            # The same accented questions with their marks stripped: what typing without
            # diacritics costs, with the question itself held constant.
            by_accent["accented, folded"] = [
                _rank(searcher.search(fold(q.text), top=5), q.gold)
                for q in queries
                if q.gold and not typed_without_diacritics(q.text)
            ]
        section: dict[str, Any] = {
            "overall": _metrics(by_style.pop("_all", [])),
            "by_style": {style: _metrics(ranks) for style, ranks in sorted(by_style.items())},
            "by_diacritics": {group: _metrics(ranks) for group, ranks in by_accent.items()},
            "no_match": {
                "precision": round(no_match_hit / no_match_pred, 4) if no_match_pred else 0.0,
                "recall": round(no_match_hit / no_match_true, 4) if no_match_true else 0.0,
            },
            "decisions": dict(decisions),
            "latency_ms": {
                "p50": round(_percentile(latencies, 0.5), 2),
                "p95": round(_percentile(latencies, 0.95), 2),
            },
            "utility": round(statistics.fmean(utility(decide(s), r, i) for s, r, i in rows), 4),
        }
        if calibrate and mode == "hybrid":
            best, score = calibrate_thresholds(rows)
            section["calibrated"] = {"thresholds": best.__dict__, "utility": round(score, 4)}
        report[mode] = section
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"{report['queries']} câu hỏi, {report['procedures']} thủ tục"]
    if report["unknown_gold"]:
        lines.append(f"! mã đáp án không có trong danh mục: {', '.join(report['unknown_gold'])}")
    for mode in MODES:
        section = report[mode]
        o = section["overall"]
        lines.append(
            f"\n[{mode}] hit@1 {o['hit@1']:.3f}  hit@3 {o['hit@3']:.3f}  MRR {o['mrr']:.3f}  "
            f"p50 {section['latency_ms']['p50']} ms  p95 {section['latency_ms']['p95']} ms  "
            f"utility {section['utility']}"
        )
        for style, m in section["by_style"].items():
            lines.append(
                f"   {style:<14} n={m['n']:<4} hit@1 {m['hit@1']:.3f}  hit@3 {m['hit@3']:.3f}  MRR {m['mrr']:.3f}"
            )
        lines.append(
            "   diacritics: "
            + "  ".join(
                f"{group} hit@1 {m['hit@1']:.3f} (n={m['n']})"
                for group, m in section["by_diacritics"].items()
            )
        )
        nm = section["no_match"]
        lines.append(
            f"   no_match precision {nm['precision']:.3f} recall {nm['recall']:.3f}; decisions {section['decisions']}"
        )
        if "calibrated" in section:
            lines.append(f"   calibrated: {section['calibrated']}")
    return "\n".join(lines)
