"""Build, publish and load the hybrid index (BM25 + dense vectors in FAISS).

Artefacts live in ``<root>/<version>/`` beside a ``meta.json`` that says what built
them (encoder, dim, counts, catalogue hash, time, and ``base``: the version an
incremental update started from). ``<root>/CURRENT`` names the version in use and is
replaced atomically, so a running search can swap to a new index between two queries
without a restart.

``build`` indexes a whole catalogue (every dense passage encoded). ``update`` makes the
next version from the current one when a few procedures changed (a publish from the
console): only the changed procedures' new passage texts are encoded, the other vectors
and BM25 terms are copied, BM25 and the restoration table are rebuilt (cheap).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
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


class UpdateNotPossible(RuntimeError):
    """The current index cannot be the base of an incremental update (none, another
    encoder or format): build the whole catalogue instead."""


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
    before_publish: Callable[[], None] | None = None,
) -> Path:
    """Build an index of the published procedures, publish it atomically, return its path.

    ``before_publish`` runs once the new version is complete and before ``CURRENT`` points
    at it; if it raises, the new version is discarded and ``CURRENT`` is unchanged."""
    with exclusive(root):
        return _build(procedures, encoder, root, progress, faiss_kind, batch_size, before_publish)


def _build(
    procedures: list[Procedure],
    encoder: Encoder,
    root: Path,
    progress: Callable[[int], None] | None,
    faiss_kind: str,
    batch_size: int,
    before_publish: Callable[[], None] | None,
) -> Path:
    published = [p for p in procedures if p.status == "published"]
    if not published:
        raise ValueError("danh mục không có thủ tục nào đã công bố")
    passages = [pa for p in published for pa in passages_of(p)]
    dense_texts = [pa.text for pa in passages if pa.section in DENSE_SECTIONS]
    known = _encode_new(encoder, dense_texts, {}, progress, batch_size)
    return _write_version(
        root,
        published,
        passages,
        [terms(pa.text) for pa in passages],
        vocabulary_of(passages),
        known,
        encoder,
        faiss_kind,
        extra={"base": None, "encoded_texts": len(known)},
        before_publish=before_publish,
    )


def update(
    changed: Iterable[Procedure],
    removed: Iterable[str],
    encoder: Encoder,
    root: Path,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 64,
    before_publish: Callable[[], None] | None = None,
) -> Path:
    """Publish the next index version from the current one, with ``changed`` procedures
    replaced or added (a changed procedure that is not published is dropped) and the ids in
    ``removed`` dropped. Only passage texts the current index does not hold are encoded.

    Raises ``UpdateNotPossible`` when there is no current index of this encoder and format,
    and ``ValueError`` when no published procedure would remain."""
    with exclusive(root):
        return _update(list(changed), set(removed), encoder, root, progress, batch_size, before_publish)


@contextlib.contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """One publisher at a time per index directory, across threads and processes (gateway
    replicas, the CLI): each version is made from the one before it, and none is lost."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".publish.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _update(
    changed: list[Procedure],
    removed: set[str],
    encoder: Encoder,
    root: Path,
    progress: Callable[[int], None] | None,
    batch_size: int,
    before_publish: Callable[[], None] | None,
) -> Path:
    base_version = current_version(root)
    base_meta = read_meta(root)
    if (
        base_version is None
        or base_meta is None
        or base_meta.get("format") != FORMAT
        or base_meta.get("encoder") != encoder.name
    ):
        raise UpdateNotPossible("no current index of this encoder and format")
    base = root / base_version
    old_procedures = [
        Procedure.model_validate(p) for p in json.loads((base / "procedures.json").read_text("utf-8"))
    ]
    old_passages = [Passage(**p) for p in json.loads((base / "passages.json").read_text("utf-8"))]
    old_terms = _read_terms(base, old_passages)
    old_dense_rows: list[int] = json.loads((base / "dense_rows.json").read_text("utf-8"))
    old_vectors = _read_vectors(base)

    replacing = {p.id: p for p in changed}
    dropping = removed | {pid for pid, p in replacing.items() if p.status != "published"}
    published: list[Procedure] = []
    for procedure in old_procedures:
        if procedure.id in dropping:
            continue
        published.append(replacing.pop(procedure.id, procedure))
    published += [p for p in replacing.values() if p.id not in dropping]
    if not published:
        raise ValueError("danh mục không có thủ tục nào đã công bố")

    # Passages and BM25 terms of unchanged procedures are copied; vectors are reused by text.
    kept: dict[str, list[tuple[Passage, list[str]]]] = {}
    for passage, its_terms in zip(old_passages, old_terms, strict=True):
        kept.setdefault(passage.procedure_id, []).append((passage, its_terms))
    changed_ids = {p.id for p in changed}
    unchanged_ids = {p.id for p in old_procedures if p.id not in dropping and p.id not in changed_ids}
    passages: list[Passage] = []
    passage_terms: list[list[str]] = []
    for procedure in published:
        if procedure.id in unchanged_ids:
            for passage, cached in kept.get(procedure.id, []):
                passages.append(passage)
                passage_terms.append(cached)
        else:
            for passage in passages_of(procedure):
                passages.append(passage)
                passage_terms.append(terms(passage.text))
    vocabulary = _read_vocabulary(base, old_passages)
    for passage in old_passages:
        if passage.procedure_id not in unchanged_ids:
            vocabulary.subtract(syllables(passage.text))
    for passage in passages:
        if passage.procedure_id not in unchanged_ids:
            vocabulary.update(syllables(passage.text))
    vocabulary = +vocabulary  # drops syllables no passage has any more
    known = {old_passages[row].text: old_vectors[i] for i, row in enumerate(old_dense_rows)}
    dense_texts = [pa.text for pa in passages if pa.section in DENSE_SECTIONS]
    encoded = _encode_new(encoder, dense_texts, known, progress, batch_size)
    return _write_version(
        root,
        published,
        passages,
        passage_terms,
        vocabulary,
        known,
        encoder,
        str(base_meta.get("faiss", "flat")),
        extra={
            "base": base_version,
            "changed": sorted(changed_ids | removed),
            "encoded_texts": len(encoded),
        },
        before_publish=before_publish,
    )


def _encode_new(
    encoder: Encoder,
    texts: list[str],
    known: dict[str, np.ndarray],
    progress: Callable[[int], None] | None,
    batch_size: int,
) -> dict[str, np.ndarray]:
    """Encode each distinct text not in ``known`` once (the same name or alias recurs across
    levels and agencies); adds them to ``known`` and returns the newly encoded ones."""
    uses = Counter(texts)
    missing = [t for t in uses if t not in known]
    if progress and len(missing) < len(uses):
        progress(sum(n for t, n in uses.items() if t in known))
    encoded: dict[str, np.ndarray] = {}
    for start in range(0, len(missing), batch_size):
        batch = missing[start : start + batch_size]
        for text, vector in zip(batch, encoder.encode_passages(batch), strict=True):
            encoded[text] = vector
        if progress:  # counted in passages, so the bar's total is every dense passage
            progress(sum(uses[t] for t in batch))
    known.update(encoded)
    return encoded


def _write_version(
    root: Path,
    published: list[Procedure],
    passages: list[Passage],
    passage_terms: list[list[str]],
    vocabulary: Counter[str],
    vectors_by_text: dict[str, np.ndarray],
    encoder: Encoder,
    faiss_kind: str,
    extra: dict[str, Any],
    before_publish: Callable[[], None] | None,
) -> Path:
    import bm25s
    import faiss

    dense_rows = [i for i, pa in enumerate(passages) if pa.section in DENSE_SECTIONS]
    vectors = np.zeros((len(dense_rows), encoder.dim), dtype=np.float32)
    for i, row in enumerate(dense_rows):
        vectors[i] = vectors_by_text[passages[row].text]

    bm25 = bm25s.BM25()
    bm25.index([t or ["_"] for t in passage_terms], show_progress=False)

    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:6]
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{version}"
    staging.mkdir()
    try:
        faiss.write_index(_faiss_index(vectors, faiss_kind), str(staging / "dense.faiss"))
        bm25.save(str(staging / "bm25"))
        _write_json(staging / "dense_rows.json", dense_rows)
        _write_json(staging / "passages.json", [asdict(pa) for pa in passages])
        _write_json(staging / "terms.json", passage_terms)
        _write_json(staging / "vocabulary.json", dict(vocabulary))
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
            "distinct_dense_texts": len({passages[row].text for row in dense_rows}),
            "faiss": faiss_kind,
            "catalogue_hash": catalogue_hash(published),
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **extra,
        }
        _write_json(staging / "meta.json", meta)
        if before_publish is not None:
            before_publish()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    final = root / version
    os.replace(staging, final)
    _point_current(root, version)
    _prune(root, keep=version)
    return final


def _read_terms(path: Path, passages: list[Passage]) -> list[list[str]]:
    """The BM25 terms saved with a version (an index built before they were saved: recomputed)."""
    try:
        saved: list[list[str]] = json.loads((path / "terms.json").read_text("utf-8"))
    except FileNotFoundError:
        return [terms(pa.text) for pa in passages]
    if len(saved) != len(passages):
        return [terms(pa.text) for pa in passages]
    return saved


def vocabulary_of(passages: Iterable[Passage]) -> Counter[str]:
    """Folded syllables of the passages with their counts (what typo correction knows)."""
    vocabulary: Counter[str] = Counter()
    for passage in passages:
        vocabulary.update(syllables(passage.text))
    return vocabulary


def _read_vocabulary(path: Path, passages: list[Passage]) -> Counter[str]:
    """The vocabulary saved with a version (computed for a version saved without it): reading
    it keeps a running search's swap to a new version short."""
    try:
        return Counter(json.loads((path / "vocabulary.json").read_text("utf-8")))
    except FileNotFoundError:
        return vocabulary_of(passages)


def _read_vectors(path: Path) -> np.ndarray:
    import faiss

    dense = faiss.read_index(str(path / "dense.faiss"))
    return np.asarray(dense.reconstruct_n(0, dense.ntotal), dtype=np.float32)


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
        self.corrector = TypoCorrector(_read_vocabulary(path, self.passages))

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
