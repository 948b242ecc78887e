"""Run by tests/bot/test_nlu_classifier.py in the Rasa runtime (.venv-rasa, Python 3.10).

Trains bot.nlu.linear_intent_classifier on a small set of Vietnamese examples with
made-up dense vectors, persists it into a real Rasa model storage, loads it back and
prints one JSON line per check for the pytest side to assert on."""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import skops.io as sio
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_intent_classifier import FILE, LinearIntentClassifier

EXAMPLES = {
    "ask_fee": ["lệ phí bao nhiêu", "le phi bao nhieu", "tốn bao nhiêu tiền", "phí bao nhiêu vậy"],
    "ask_duration": ["mất mấy ngày", "mat may ngay", "bao lâu thì có", "bao lau thi xong"],
    "greet": ["xin chào", "xin chao", "chào bạn", "chao ad"],
}
DIM = 8


def vector(intent: str, rng: np.random.Generator) -> np.ndarray:
    """A dense 'sentence vector' that clusters by intent, as the e5 vector roughly does."""
    centre = np.zeros(DIM, dtype=np.float32)
    centre[list(EXAMPLES).index(intent)] = 1.0
    return centre + rng.normal(0, 0.05, DIM).astype(np.float32)


def message(text: str, intent: str | None, rng: np.random.Generator, dense: bool = True) -> Message:
    m = Message(data={TEXT: text, **({INTENT: intent} if intent else {})})
    if dense:
        m.add_features(Features(vector(intent or "greet", rng)[None, :], "sentence", TEXT, "test"))
    return m


def main() -> None:
    rng = np.random.default_rng(1)
    root = Path(tempfile.mkdtemp(prefix="congdan-clf-"))
    storage = LocalModelStorage(root)
    resource = Resource("intent_classifier")
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**LinearIntentClassifier.get_default_config(), "C": 10.0}

    component = LinearIntentClassifier.create(config, storage, resource, context)
    data = TrainingData([message(t, i, rng) for i, texts in EXAMPLES.items() for t in texts])
    component.train(data)

    loaded = LinearIntentClassifier.load(config, storage, resource, context)
    # No dense vector on these: the n-grams alone must carry them (and a missing
    # vector must not break the classifier).
    unseen = [
        message("le phi het bao nhieu tien", None, rng, dense=False),  # unaccented, new words
        message("mất bao lâu vậy", None, rng, dense=False),
        message("chào", None, rng, dense=False),
    ]
    loaded.process(unseen)
    for m in unseen:
        print(
            json.dumps(
                {
                    "check": "predict",
                    "text": m.get(TEXT),
                    "intent": m.get(INTENT),
                    "ranking": m.get("intent_ranking"),
                },
                ensure_ascii=False,
            )
        )

    # A model file carrying an object type nobody trusted is refused, not executed.
    with storage.write_to(resource) as directory:
        sio.dump({"model": Counter(a=1)}, directory / FILE)
    tampered = LinearIntentClassifier.load(config, storage, resource, context)
    probe = message("lệ phí bao nhiêu", None, rng)
    tampered.process([probe])
    print(json.dumps({"check": "tampered", "intent": probe.get(INTENT)}, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
