"""Build, publish and load the hybrid index (BM25 + dense vectors in FAISS).

Artefacts live in ``<root>/<version>/`` beside a ``meta.json`` that says what built
them (encoder, dim, counts, catalogue hash, time). ``<root>/CURRENT`` names the
version in use and is replaced atomically, so a running search can swap to a new
index between two queries without a restart.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.analysis import Restorer, TypoCorrector, syllables, terms
from knowledge.catalogue import catalogue_hash
from knowledge.encoders import Encoder
from knowledge.models import Procedure

CURRENT = "CURRENT"
KEEP_VERSIONS = 3
# Sections a citizen's question is compared with. Dense vectors cover the short,
# question-like ones; BM25 covers everything.
DENSE_SECTIONS = ("name", "alias", "question")
# Bumped when what goes into an index changes (terms, passages, restoration table), so
# `make run` rebuilds an index that an older version of this code built.
FORMAT = 2
BODY_SECTIONS = (
    "field",
    "agency",
    "applicants",
    "documents",
    "steps",
    "fees",
    "processing_time",
    "where",
    "legal_basis",
    "result",
)


@dataclass(frozen=True)
class Passage:
    procedure_id: str
    section: str
    text: str


def passages_of(procedure: Procedure) -> list[Passage]:
    out = [Passage(procedure.id, "name", procedure.name)]
    out += [Passage(procedure.id, "alias", a) for a in procedure.aliases]
    out += [Passage(procedure.id, "question", q) for q in procedure.questions]
    body: dict[str, str | None] = {
        "field": procedure.field,
        "agency": procedure.agency,
        "applicants": procedure.applicants,
        "documents": "; ".join(d.name for d in procedure.documents) or None,
        "steps": " ".join(procedure.steps) or None,
        "fees": procedure.fees,
        "processing_time": procedure.processing_time,
        "where": procedure.where,
        "legal_basis": "; ".join(procedure.legal_basis) or None,
        "result": procedure.result,
    }
    out += [Passage(procedure.id, section, text) for section, text in body.items() if text]
    return out


def _faiss_index(vectors: np.ndarray, kind: str) -> Any:
    import faiss

    dim = vectors.shape[1]
    index: Any = (
        faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT) if kind == "hnsw" else faiss.IndexFlatIP(dim)
    )
    index.add(vectors)
    return index


def build(
    procedures: list[Procedure],
    encoder: Encoder,
    root: Path,
    progress: Callable[[int], None] | None = None,
    faiss_kind: str = "flat",
    batch_size: int = 64,
) -> Path:
    """Build an index of the published procedures, publish it atomically, return its path."""
    import bm25s
    import faiss

    published = [p for p in procedures if p.status == "published"]
    if not published:
        raise ValueError("danh mục không có thủ tục nào đã công bố")
    passages = [pa for p in published for pa in passages_of(p)]
    dense_rows = [i for i, pa in enumerate(passages) if pa.section in DENSE_SECTIONS]

    # Each distinct text is encoded once: the same name or alias recurs across levels
    # and agencies (the national database lists one procedure per issuing level).
    texts = [passages[i].text for i in dense_rows]
    uses = Counter(texts)
    distinct = list(uses)
    encoded = np.zeros((len(distinct), encoder.dim), dtype=np.float32)
    for start in range(0, len(distinct), batch_size):
        batch = distinct[start : start + batch_size]
        encoded[start : start + len(batch)] = encoder.encode_passages(batch)
        if progress:  # counted in passages, so the bar's total is every dense passage
            progress(sum(uses[t] for t in batch))
    position = {text: i for i, text in enumerate(distinct)}
    vectors = encoded[[position[t] for t in texts]] if texts else encoded

    bm25 = bm25s.BM25()
    bm25.index([terms(pa.text) or ["_"] for pa in passages], show_progress=False)

    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{version}"
    staging.mkdir()
    faiss.write_index(_faiss_index(vectors, faiss_kind), str(staging / "dense.faiss"))
    bm25.save(str(staging / "bm25"))
    _write_json(staging / "dense_rows.json", dense_rows)
    _write_json(staging / "passages.json", [asdict(pa) for pa in passages])
    _write_json(staging / "procedures.json", [p.model_dump(mode="json") for p in published])
    restorer = Restorer.learn(pa.text for pa in passages)
    _write_json(staging / "restore.json", restorer.table)
    meta = {
        "version": version,
        "format": FORMAT,
        "encoder": encoder.name,
        "dim": encoder.dim,
        "count": len(published),
        "passages": len(passages),
        "dense_vectors": len(dense_rows),
        "distinct_dense_texts": len(distinct),
        "faiss": faiss_kind,
        "catalogue_hash": catalogue_hash(published),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    _write_json(staging / "meta.json", meta)
    final = root / version
    os.replace(staging, final)
    _point_current(root, version)
    _prune(root, keep=version)
    return final


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _point_current(root: Path, version: str) -> None:
    tmp = root / f".{CURRENT}.{uuid.uuid4().hex}"
    tmp.write_text(version, encoding="utf-8")
    os.replace(tmp, root / CURRENT)


def _prune(root: Path, keep: str) -> None:
    versions = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_version(root: Path) -> str | None:
    try:
        return (root / CURRENT).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def read_meta(root: Path) -> dict[str, Any] | None:
    version = current_version(root)
    if version is None:
        return None
    try:
        return dict(json.loads((root / version / "meta.json").read_text(encoding="utf-8")))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class LoadedIndex:
    """One published index version in memory."""

    def __init__(self, path: Path) -> None:
        import bm25s
        import faiss

        self.path = path
        self.meta: dict[str, Any] = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        self.passages = [Passage(**p) for p in json.loads((path / "passages.json").read_text("utf-8"))]
        self.dense_rows = np.array(json.loads((path / "dense_rows.json").read_text("utf-8")), dtype=np.int64)
        self.procedures = {
            p["id"]: Procedure.model_validate(p)
            for p in json.loads((path / "procedures.json").read_text(encoding="utf-8"))
        }
        self.dense = faiss.read_index(str(path / "dense.faiss"))
        self.bm25 = bm25s.BM25.load(str(path / "bm25"))
        self.restorer = Restorer(json.loads((path / "restore.json").read_text(encoding="utf-8")))
        vocabulary: Counter[str] = Counter()
        for passage in self.passages:
            vocabulary.update(syllables(passage.text))
        self.corrector = TypoCorrector(vocabulary)

        self.procedure_ids: list[str] = list(self.procedures)
        ordinals = {pid: i for i, pid in enumerate(self.procedure_ids)}
        self.passage_procedure = np.array([ordinals[p.procedure_id] for p in self.passages], dtype=np.int64)


def load_current(root: Path) -> LoadedIndex | None:
    version = current_version(root)
    return LoadedIndex(root / version) if version else None


def catalogue_changed(root: Path, procedures: Iterable[Procedure], encoder_name: str) -> bool:
    """True when no index exists or it was built from other content or another encoder."""
    meta = read_meta(root)
    return (
        meta is None
        or meta.get("format") != FORMAT
        or meta.get("catalogue_hash") != catalogue_hash(procedures)
        or meta.get("encoder") != encoder_name
    )
