"""The intent classifier of the Rasa pipeline (bot/nlu/linear_intent_classifier.py).

It runs in the Rasa runtime, so the checks run there (tests/bot/nlu_classifier_check.py)
through a real Rasa model storage: train, persist, load, classify; and a persisted file
with an untrusted object type is refused."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bot.settings import PROJECT_ROOT

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"


@pytest.fixture(scope="module")
def checks() -> list[dict]:
    if not RASA_PYTHON.exists():
        pytest.fail("the Rasa virtualenv is missing: run `make setup`")
    done = subprocess.run(
        [str(RASA_PYTHON), str(PROJECT_ROOT / "tests" / "bot" / "nlu_classifier_check.py")],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_a_persisted_and_reloaded_classifier_understands_unseen_phrasings(checks) -> None:
    predicted = {c["text"]: c for c in checks if c["check"] == "predict"}
    assert predicted["le phi het bao nhieu tien"]["intent"]["name"] == "ask_fee"
    assert predicted["mất bao lâu vậy"]["intent"]["name"] == "ask_duration"
    assert predicted["chào"]["intent"]["name"] == "greet"
    for check in predicted.values():
        ranking = check["ranking"]
        assert ranking[0]["name"] == check["intent"]["name"]
        assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6  # all three intents ranked
        assert ranking == sorted(ranking, key=lambda r: -r["confidence"])


def test_a_model_file_with_an_untrusted_type_is_refused(checks) -> None:
    (tampered,) = [c for c in checks if c["check"] == "tampered"]
    assert tampered["intent"] is None  # not loaded, so nothing is classified with it
