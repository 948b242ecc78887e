"""Rasa NLU intent classifier: logistic regression on TF-IDF n-grams and the e5 vector.

Loaded by Rasa (Python 3.10, ``.venv-rasa``) through its dotted path in ``config.yml``.
A citizen's message is a few words; what separates "mất mấy ngày" (ask_duration) from
"luộc trứng bao lâu" (out_of_scope) is partly the words and partly what they mean. The
classifier sees both at once:

- TF-IDF of word 1–2-grams and character 2–4-grams of the accent-folded, normalised text
  (abbreviations expanded), so "căn cước" == "can cuoc" == "cc" and typos still share
  n-grams;
- the sentence vector a dense featurizer put on the message (the e5 vector of
  ``SentenceFeaturizer``), scaled by ``dense_weight``, for the topics and phrasings the
  examples never mention.

On the project's data, 5-fold cross-validation gives intent macro-F1 0.943 against 0.888
for DIET on the same features (``make bench`` measures it again). Training takes seconds.
The fitted vectorisers and model are persisted with skops, whose loader refuses object
types it was not told to trust.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from knowledge.normalize import fold, normalize

log = logging.getLogger(__name__)

FILE = "linear_intent_classifier.skops"
# What the persisted file may contain besides builtins; anything else is refused on load.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.", "builtins.")


def matching_text(text: Optional[Text]) -> Text:
    """The form the n-grams are taken from: normalised, then accent-folded."""
    return fold(normalize(text or ""))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(IntentClassifier, GraphComponent):
    """Multinomial logistic regression over [TF-IDF words, TF-IDF characters, dense vector]."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [DenseFeaturizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn", "skops"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "C": 50.0,  # inverse regularisation strength
            "dense_weight": 3.0,  # scale of the dense vector against the TF-IDF rows (unit norm)
            "word_ngrams": [1, 2],
            "char_ngrams": [2, 4],
            "max_iter": 5000,
            "ranking_length": 10,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        state: Optional[Dict[Text, Any]] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._state = state  # {"words", "chars", "model", "dense_dim"} once trained

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if float(config.get("C", 1.0)) <= 0 or float(config.get("dense_weight", 0.0)) < 0:
            raise ValueError("LinearIntentClassifier: C must be > 0 and dense_weight >= 0")

    # --- features -------------------------------------------------------------------

    @staticmethod
    def _dense(message: Message, dim: int) -> np.ndarray:
        _, sentence = message.get_dense_features(TEXT)
        if sentence is None:
            return np.zeros(dim, dtype=np.float32)
        return np.asarray(sentence.features, dtype=np.float32).reshape(-1)

    def _matrix(self, messages: List[Message]) -> csr_matrix:
        assert self._state is not None
        texts = [matching_text(m.get(TEXT)) for m in messages]
        dense = np.vstack([self._dense(m, self._state["dense_dim"]) for m in messages])
        return hstack(
            [
                self._state["words"].transform(texts),
                self._state["chars"].transform(texts),
                csr_matrix(dense * float(self.config["dense_weight"])),
            ]
        ).tocsr()

    # --- training -------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            log.warning("LinearIntentClassifier: fewer than two intents in the data; not trained")
            return self._resource
        texts = [matching_text(e.get(TEXT)) for e in examples]
        dims = {self._dense(e, 0).shape[0] for e in examples}
        if len(dims) != 1:
            raise ValueError(f"LinearIntentClassifier: dense sentence features differ in size {dims}")
        words = TfidfVectorizer(
            analyzer="word", ngram_range=tuple(self.config["word_ngrams"]), sublinear_tf=True
        ).fit(texts)
        chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=tuple(self.config["char_ngrams"]), sublinear_tf=True
        ).fit(texts)
        self._state = {"words": words, "chars": chars, "model": None, "dense_dim": dims.pop()}
        model = LogisticRegression(C=float(self.config["C"]), max_iter=int(self.config["max_iter"]))
        model.fit(self._matrix(examples), [e.get(INTENT) for e in examples])
        self._state["model"] = model
        self.persist()
        return self._resource

    # --- prediction -----------------------------------------------------------------

    def process(self, messages: List[Message]) -> List[Message]:
        if self._state is None or self._state["model"] is None:
            return messages
        todo = [m for m in messages if m.get(TEXT)]
        if not todo:
            return messages
        model: LogisticRegression = self._state["model"]
        probabilities = model.predict_proba(self._matrix(todo))
        for message, row in zip(todo, probabilities, strict=True):
            ranking = sorted(
                (
                    {"name": str(name), "confidence": float(p)}
                    for name, p in zip(model.classes_, row, strict=True)
                ),
                key=lambda r: -float(r["confidence"]),
            )
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking[: int(self.config["ranking_length"])], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    # --- persistence ----------------------------------------------------------------

    def persist(self) -> None:
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as directory:
            sio.dump(self._state, directory / FILE)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as directory:
                path = directory / FILE
                untrusted = sio.get_untrusted_types(file=path)
                refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
                if refused:
                    raise ValueError(f"unexpected types in {FILE}: {refused}")
                state = sio.load(path, trusted=untrusted)
        except ValueError as error:  # no resource (not trained) or a refused file
            log.warning("LinearIntentClassifier not loaded: %s", error)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, state)
