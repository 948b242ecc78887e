"""NLU quality: 5-fold cross-validation of the intent classifier on nlu_data/nlu with
the project's config.yml, run in the Rasa runtime. Writes var/bench/nlu.json with the
intent macro-F1, the weakest intents and the training time of the full model.

Rasa shuffles the folds with NumPy's global generator and no seed; seeding it here
makes two runs on the same data and config split the same way, so a change of the
data or the pipeline is compared on equal folds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.common import BENCH_DIR, read_json, write

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
FOLDS = 5
SEED = 2026
RUN_RASA = (
    "import sys, numpy; numpy.random.seed(int(sys.argv[1])); "
    "from rasa.__main__ import main; sys.argv = ['rasa', *sys.argv[2:]]; main()"
)


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="congdan-nlu-cv-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    started = time.monotonic()
    subprocess.run(
        [
            str(PYTHON),
            "-c",
            RUN_RASA,
            str(SEED),
            "test",
            "nlu",
            "--config",
            "config.yml",
            "--nlu",
            "nlu_data/nlu",
            "--cross-validation",
            "--folds",
            str(FOLDS),
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.monotonic() - started
    report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    per_intent = {
        name: round(values["f1-score"], 4)
        for name, values in report.items()
        if isinstance(values, dict)
        and "f1-score" in values
        and name not in {"macro avg", "weighted avg", "micro avg"}
    }
    write(
        "nlu",
        {
            "folds": FOLDS,
            "fold_seed": SEED,
            "intent_macro_f1": round(report["macro avg"]["f1-score"], 4),
            "intent_weighted_f1": round(report["weighted avg"]["f1-score"], 4),
            "accuracy": round(report.get("accuracy", 0.0), 4),
            "weakest_intents": dict(sorted(per_intent.items(), key=lambda kv: kv[1])[:5]),
            "cross_validation_s": round(seconds, 1),
            "train_full_model_s": read_json(BENCH_DIR / "train.json").get("train_s"),
        },
    )


if __name__ == "__main__":
    main()
