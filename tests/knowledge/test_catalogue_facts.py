"""Every published seed record, and every aspect answer built from it, reads as clean Vietnamese.

Walks ``knowledge.catalogue.load_seed()``: ``problems(p)`` must be empty for each published
record, and each aspect answer (``actions.procedures.aspect_reply``) must carry no bare "0",
no repeated label, no HTML, no empty bullet, no "None", and must either state the fact or
say honestly that the catalogue lacks it.
"""

from __future__ import annotations

import re

import pytest

from actions import procedures as answers
from knowledge.catalogue import load_seed
from knowledge.facts import completeness, problems, text_problems
from knowledge.models import Procedure

PUBLISHED = [p for p in load_seed() if p.status == "published"]
ASPECT_NAMES = list(getattr(answers, "ASPECTS", None) or answers.ASPECT_BY_INTENT.values())
# How the answers say that the catalogue does not hold a fact ("Danh mục chưa có…", "chưa ghi…").
LACKS = re.compile(r"[Dd]anh mục chưa (?:có|ghi)")


def _known(aspect: str, p: Procedure) -> list[str]:
    """Pieces of the record an answer about ``aspect`` must show when the record holds it."""
    if aspect == "documents":
        return [p.documents[0].name] if p.documents else []
    if aspect == "fee":
        return [p.fees] if p.fees else []
    if aspect == "duration":
        return [p.processing_time] if p.processing_time else []
    if aspect == "where":
        where = p.where or p.agency
        return [where] if where else []
    if aspect == "online":
        return [answers.online_label(p)] if p.channels else []
    if aspect == "steps":
        return [p.steps[0]] if p.steps else []
    if aspect == "legal_basis":
        return list(p.legal_basis)
    raise AssertionError(f"unknown aspect {aspect}")


def test_the_walk_covers_the_published_catalogue_and_every_aspect() -> None:
    assert len(PUBLISHED) >= 150
    assert {"documents", "fee", "duration", "where", "online", "steps", "legal_basis"} <= set(ASPECT_NAMES)


@pytest.mark.parametrize("procedure", PUBLISHED, ids=lambda p: p.id)
def test_every_published_record_reads_cleanly(procedure: Procedure) -> None:
    assert problems(procedure) == []


@pytest.mark.parametrize("procedure", PUBLISHED, ids=lambda p: p.id)
def test_every_aspect_answer_states_the_fact_or_says_the_catalogue_lacks_it(procedure: Procedure) -> None:
    for aspect in ASPECT_NAMES:
        text, _links = answers.aspect_reply(aspect, procedure)
        assert text.strip(), aspect
        assert text_problems(text) == [], (aspect, text)
        facts = _known(aspect, procedure)
        if facts:
            for fact in facts:
                assert fact[:60] in text, (aspect, fact)
            assert not LACKS.search(text), (aspect, text)
        else:
            assert LACKS.search(text), (aspect, text)


def test_completeness_reports_every_fact_field_over_the_published_seed() -> None:
    report = completeness(load_seed())
    for field, row in report.items():
        assert row["total"] == len(PUBLISHED), field
        assert 0 <= row["filled"] <= row["total"]
        assert row["share"] == round(row["filled"] / row["total"], 3)
    # the facts filled from the law in this change stay filled
    seed = {p.id: p for p in PUBLISHED}
    assert seed["hotich.ket-hon-yeu-to-nuoc-ngoai"].processing_time
    assert any("Điều 38" in b for b in seed["hotich.ket-hon-yeu-to-nuoc-ngoai"].legal_basis)
    assert report["processing_time"]["filled"] >= 87 and report["fees"]["filled"] >= 51
