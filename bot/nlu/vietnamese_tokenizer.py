"""Rasa NLU tokenizer for Vietnamese: underthesea word segmentation, accent-insensitive lemmas.

Loaded by Rasa (Python 3.10, ``.venv-rasa``) through its dotted path in ``config.yml``.
Tokens keep their offsets in the original message; each token's ``lemma`` is the
shared normaliser's form, accent-folded (``căn cước`` and ``can cuoc`` give the same
lemma ``can_cuoc``), and an abbreviation expands into one token per word
(``cccd`` → ``can``, ``cuoc``, ``cong``, ``dan``). Featurizers with ``use_lemma``
therefore see the same features however the citizen typed.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from knowledge.abbreviations import ABBREVIATIONS
from knowledge.normalize import fold, normalize


def _segment(text: Text) -> List[Text]:
    # Imported lazily: underthesea costs seconds to import.
    from underthesea import word_tokenize

    return list(word_tokenize(text))


def vietnamese_tokens(text: Text) -> List[Token]:
    """Tokens with offsets in ``text`` and folded, abbreviation-expanded lemmas."""
    if len(unicodedata.normalize("NFC", text)) == len(text):
        text = unicodedata.normalize("NFC", text)
    lowered = text.lower()
    tokens: List[Token] = []
    cursor = 0
    for piece in _segment(lowered) if lowered.strip() else []:
        start = lowered.find(piece, cursor)
        if start < 0:  # the segmenter rewrote the piece (e.g. tone mark placement)
            start = min(cursor, len(text))
        end = min(start + len(piece), len(text))
        cursor = max(end, cursor)
        expanded = normalize(piece).split()
        if not expanded:  # pure punctuation or control characters
            continue
        original = text[start:end] or piece
        if piece in ABBREVIATIONS and len(expanded) > 1:
            # an abbreviation: one token per word of its expansion
            for word in expanded:
                tokens.append(Token(original, start, end, lemma=fold(word)))
        else:
            tokens.append(Token(original, start, end, lemma=fold("_".join(expanded))))
    return tokens


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseTokenizer(Tokenizer):
    """Word-segments Vietnamese with underthesea on the shared normaliser's output."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return ["vi"]

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "VietnameseTokenizer":
        return cls(config)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        tokens = vietnamese_tokens(text)
        if not tokens:  # Rasa needs at least one token per message
            tokens = [Token(text, 0, len(text), lemma=fold(text.lower()) or "_")]
        return self._apply_token_pattern(tokens)
