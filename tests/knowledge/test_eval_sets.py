"""The hand-written evaluation sets of issue 12 keep their documented shape.

Checks every line of ``knowledge/eval/out_of_catalogue.jsonl``, ``vague.jsonl`` and
``context_laden.jsonl`` (schema, styles, splits), the promised sizes and spread, that
every procedure id they name exists in the seed catalogue, that no question appears
twice across these files and ``queries.jsonl``, and that the dev/heldout split is the
one the seeded, stratified assignment described in ``knowledge/eval/README.md`` gives.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from knowledge.catalogue import load_seed
from knowledge.normalize import clean, fold, has_diacritics

EVAL_DIR = Path(__file__).resolve().parents[2] / "knowledge" / "eval"
STYLES = {"formal", "colloquial", "no_diacritics", "abbreviation", "typo"}
# Shares the brief asks for; each file may stray by at most 0.10 from them.
STYLE_TARGETS = {
    "formal": 0.25,
    "colloquial": 0.30,
    "no_diacritics": 0.25,
    "abbreviation": 0.10,
    "typo": 0.10,
}
SPLITS = ("dev", "heldout")

Row = dict[str, Any]


def _load(name: str) -> list[Row]:
    text = (EVAL_DIR / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def out_of_catalogue() -> list[Row]:
    return _load("out_of_catalogue.jsonl")


@pytest.fixture(scope="module")
def vague() -> list[Row]:
    return _load("vague.jsonl")


@pytest.fixture(scope="module")
def context_laden() -> list[Row]:
    return _load("context_laden.jsonl")


@pytest.fixture(scope="module")
def catalogue_ids() -> set[str]:
    return {procedure.id for procedure in load_seed()}


def _family_key(row: Row) -> str:
    return str(row["family"])


def _field_key(row: Row) -> str:
    return str(row["field"])


def _gold_key(row: Row) -> str:
    return " ".join(sorted(row["gold"]))


SETS: list[tuple[str, Callable[[Row], str]]] = [
    ("out_of_catalogue.jsonl", _field_key),
    ("vague.jsonl", _family_key),
    ("context_laden.jsonl", _gold_key),
]


def _seeded_splits(rows: list[Row], key: Callable[[Row], str]) -> list[str]:
    """The documented assignment: Random(2026), groups in sorted key order, each group
    shuffled and alternated dev/heldout, the starting split flipping after an odd group."""
    rng = random.Random(2026)
    groups: dict[str, list[int]] = defaultdict(list)
    for position, row in enumerate(rows):
        groups[key(row)].append(position)
    splits = [""] * len(rows)
    offset = 0
    for name in sorted(groups):
        members = groups[name]
        rng.shuffle(members)
        for rank, position in enumerate(members):
            splits[position] = SPLITS[(rank + offset) % 2]
        if len(members) % 2:
            offset ^= 1
    return splits


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", fold(clean(text)).lower())


def _identity(text: str) -> str:
    """Two questions are the same question when their folded words are."""
    return " ".join(_words(text))


def test_out_of_catalogue_lines_have_the_documented_schema(out_of_catalogue: list[Row]) -> None:
    for row in out_of_catalogue:
        assert set(row) == {"query", "field", "style", "near_miss", "split"}, row
        assert isinstance(row["query"], str) and row["query"].strip(), row
        assert isinstance(row["field"], str) and row["field"].strip(), row
        assert row["style"] in STYLES, row
        assert isinstance(row["near_miss"], bool), row
        assert row["split"] in SPLITS, row


def test_vague_lines_have_the_documented_schema(vague: list[Row], catalogue_ids: set[str]) -> None:
    for row in vague:
        assert set(row) == {"query", "family", "candidates", "style", "split"}, row
        assert isinstance(row["family"], str) and row["family"].strip(), row
        assert row["style"] in STYLES and row["split"] in SPLITS, row
        candidates = row["candidates"]
        assert len(candidates) == len(set(candidates)) >= 2, row
        unknown = set(candidates) - catalogue_ids
        assert not unknown, (row["query"], unknown)


def test_context_laden_lines_have_the_documented_schema(
    context_laden: list[Row], catalogue_ids: set[str]
) -> None:
    for row in context_laden:
        assert set(row) == {"query", "gold", "style", "split"}, row
        assert row["style"] in STYLES and row["split"] in SPLITS, row
        assert row["gold"] and len(row["gold"]) == len(set(row["gold"])), row
        unknown = set(row["gold"]) - catalogue_ids
        assert not unknown, (row["query"], unknown)


def test_sets_are_as_large_as_promised(
    out_of_catalogue: list[Row], vague: list[Row], context_laden: list[Row]
) -> None:
    assert len(out_of_catalogue) >= 300
    assert len(vague) >= 60
    assert len(context_laden) >= 60


def test_out_of_catalogue_questions_spread_over_fields_and_near_misses(out_of_catalogue: list[Row]) -> None:
    fields = Counter(row["field"] for row in out_of_catalogue)
    assert len(fields) >= 25, fields
    # No field may dominate the set: the point is the world's variety.
    assert max(fields.values()) <= 0.06 * len(out_of_catalogue), fields.most_common(3)
    near_misses = sum(row["near_miss"] for row in out_of_catalogue)
    assert near_misses / len(out_of_catalogue) >= 0.30


def test_no_out_of_catalogue_question_is_a_catalogue_procedure_name(
    out_of_catalogue: list[Row],
) -> None:
    names = {_identity(procedure.name) for procedure in load_seed()}
    for row in out_of_catalogue:
        assert _identity(row["query"]) not in names, row


@pytest.mark.parametrize(("name", "key"), SETS)
def test_every_style_is_used_in_roughly_the_asked_share(name: str, key: Callable[[Row], str]) -> None:
    rows = _load(name)
    shares = {style: count / len(rows) for style, count in Counter(row["style"] for row in rows).items()}
    for style, target in STYLE_TARGETS.items():
        assert abs(shares.get(style, 0.0) - target) <= 0.10, (name, style, shares)


@pytest.mark.parametrize(("name", "key"), SETS)
def test_style_labels_match_how_the_question_is_typed(name: str, key: Callable[[Row], str]) -> None:
    for row in _load(name):
        if row["style"] == "no_diacritics":
            assert not has_diacritics(row["query"]), row
        else:
            assert has_diacritics(row["query"]), row


@pytest.mark.parametrize(("name", "key"), SETS)
def test_question_lengths_vary_from_a_few_words_to_a_story(name: str, key: Callable[[Row], str]) -> None:
    lengths = [len(row["query"].split()) for row in _load(name)]
    assert min(lengths) >= 2 and max(lengths) <= 40, (min(lengths), max(lengths))
    assert max(lengths) - min(lengths) >= 15, (min(lengths), max(lengths))


@pytest.mark.parametrize(("name", "key"), SETS)
def test_splits_are_the_seeded_stratified_assignment(name: str, key: Callable[[Row], str]) -> None:
    rows = _load(name)
    assert [row["split"] for row in rows] == _seeded_splits(rows, key)
    counts = Counter(row["split"] for row in rows)
    assert counts["dev"] > 0 and counts["heldout"] > 0
    assert abs(counts["dev"] - counts["heldout"]) <= 1, counts
    by_group: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        by_group[key(row)].add(row["split"])
    sizes = Counter(key(row) for row in rows)
    for group, seen in by_group.items():
        if sizes[group] >= 2:
            assert seen == set(SPLITS), (name, group)


def test_no_question_appears_twice_across_the_eval_files(
    out_of_catalogue: list[Row], vague: list[Row], context_laden: list[Row]
) -> None:
    existing = _load("queries.jsonl")
    seen: dict[str, str] = {}
    for source, rows in (
        ("queries.jsonl", existing),
        ("out_of_catalogue.jsonl", out_of_catalogue),
        ("vague.jsonl", vague),
        ("context_laden.jsonl", context_laden),
    ):
        for row in rows:
            identity = _identity(row["query"])
            assert identity not in seen, (row["query"], seen.get(identity), source)
            seen[identity] = source


def test_new_questions_are_not_near_copies_of_each_other(
    out_of_catalogue: list[Row], vague: list[Row], context_laden: list[Row]
) -> None:
    rows = out_of_catalogue + vague + context_laden
    words = [set(_words(row["query"])) for row in rows]
    for (i, a), (j, b) in itertools.combinations(enumerate(words), 2):
        overlap = len(a & b) / len(a | b)
        assert overlap < 0.6, (rows[i]["query"], rows[j]["query"], round(overlap, 2))
