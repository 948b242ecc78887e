"""Catalogue editing through the console's JSON API (the contract in ARCHITECTURE.md), on
the real app and database: list and search, every save a draft revision beside the
published record, 422 with field errors, sanitising, PUT round trip, history with diffs,
revert, roles and CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bot.console import audit
from bot.settings import Settings
from knowledge import catalogue_store
from knowledge.models import Procedure
from tests.console.conftest import ADMIN, EDITOR
from tests.console.helpers import api_csrf, login, settings_without_index

TARGET = "cancuoc.cap-lai"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    yield settings_without_index(tmp_path, monkeypatch)


@pytest.fixture
def catalogue(console_engine: Engine, seed: list[Procedure]) -> list[Procedure]:
    chosen = [p for p in seed if p.id in {TARGET, "gplx.doi", "hotich.khai-tu"}] + seed[:5]
    catalogue_store.seed_if_empty(console_engine, chosen)
    return chosen


def signed_in(client: TestClient, who: tuple[str, str]) -> dict[str, str]:
    assert login(client, *who).status_code == 303
    return {"X-CSRF-Token": api_csrf(client)}


def test_list_filters_and_searches_without_diacritics(client: TestClient, catalogue: list[Procedure]) -> None:
    signed_in(client, EDITOR)
    everything = client.get("/api/admin/procedures").json()
    assert {p["id"] for p in everything} == {p.id for p in catalogue}
    assert all(p["status"] == "published" and p["revision"] == 1 for p in everything)

    found = client.get("/api/admin/procedures", params={"q": "lam lai can cuoc"}).json()
    assert [p["id"] for p in found] == [TARGET]
    field = next(p.field for p in catalogue if p.id == TARGET)
    by_field = client.get("/api/admin/procedures", params={"field": field}).json()
    assert TARGET in {p["id"] for p in by_field} and all(p["field"] == field for p in by_field)
    assert client.get("/api/admin/procedures", params={"status": "draft"}).json() == []
    bad = client.get("/api/admin/procedures", params={"status": "xoa"})
    assert bad.status_code == 422 and "Trạng thái" in bad.json()["message"]


def test_put_accepts_what_get_returned_and_saves_a_draft_beside_the_published_record(
    client: TestClient, console_engine: Engine, catalogue: list[Procedure]
) -> None:
    headers = signed_in(client, EDITOR)
    record = client.get(f"/api/admin/procedures/{TARGET}").json()
    assert record["revision"] == 1 and record["status"] == "published"
    record["aliases"] = [*record["aliases"], "thẻ chíp bị thất lạc"]

    saved = client.put(f"/api/admin/procedures/{TARGET}", json=record, headers=headers)

    assert saved.status_code == 200, saved.text
    assert saved.json() == {"id": TARGET, "revision": 2, "status": "draft"}
    again = client.get(f"/api/admin/procedures/{TARGET}").json()
    assert again["status"] == "draft" and again["revision"] == 2 and again["published_revision"] == 1
    assert "thẻ chíp bị thất lạc" in again["aliases"]
    # Citizens keep the published version until an admin publishes.
    published = catalogue_store.get(console_engine, TARGET)
    assert published is not None and "thẻ chíp bị thất lạc" not in published.aliases
    assert [p["id"] for p in client.get("/api/admin/procedures", params={"status": "draft"}).json()] == [
        TARGET
    ]
    # The same object again is no new revision.
    same = client.put(f"/api/admin/procedures/{TARGET}", json=again, headers=headers)
    assert same.json()["revision"] == 2
    assert [e["target"] for e in audit.entries(console_engine, action="catalogue.edit")] == [TARGET]


def test_invalid_records_get_422_with_vietnamese_errors_by_field_and_change_nothing(
    client: TestClient, catalogue: list[Procedure]
) -> None:
    headers = signed_in(client, EDITOR)
    record = client.get(f"/api/admin/procedures/{TARGET}").json()
    broken = {
        **record,
        "name": "",
        "url": "ftp://sai-giao-thuc",
        "level": "huyện",
        "documents": [{"name": ""}],
        "mystery": 1,
    }

    response = client.put(f"/api/admin/procedures/{TARGET}", json=broken, headers=headers)

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request" and "hợp lệ" in body["message"]
    problems = {p["field"]: p["problem"] for p in body["problems"]}
    assert set(problems) == {"name", "url", "level", "documents.0.name", "mystery"}
    assert problems["name"].startswith("Quá ngắn") and "http" in problems["url"]
    assert problems["documents.0.name"] == "Bắt buộc phải có."
    assert client.get(f"/api/admin/procedures/{TARGET}").json()["revision"] == 1
    for body_sent in ([1, 2], "chuỗi"):
        not_object = client.put(f"/api/admin/procedures/{TARGET}", json=body_sent, headers=headers)
        assert not_object.status_code == 422 and not_object.json()["problems"][0]["field"] == "body"
    renamed = client.put(f"/api/admin/procedures/{TARGET}", json={**record, "id": "khac"}, headers=headers)
    assert renamed.status_code == 422 and renamed.json()["problems"][0]["field"] == "id"


def test_text_is_sanitised_on_save(client: TestClient, catalogue: list[Procedure]) -> None:
    headers = signed_in(client, EDITOR)
    record = client.get(f"/api/admin/procedures/{TARGET}").json()
    record["aliases"] = ['<b>làm lại</b> căn cước<script>alert("x")</script>', "&lt;i&gt;mất thẻ&lt;/i&gt;"]
    record["fees"] = '<img src=x onerror="alert(1)">Miễn phí & không thu thêm'
    record["steps"] = ['<a href="javascript:alert(1)">Nộp hồ sơ</a> tại bộ phận một cửa']

    assert client.put(f"/api/admin/procedures/{TARGET}", json=record, headers=headers).status_code == 200

    saved = client.get(f"/api/admin/procedures/{TARGET}").json()
    assert saved["aliases"] == ["làm lại căn cước", "mất thẻ"]
    assert saved["fees"] == "Miễn phí & không thu thêm"
    assert saved["steps"] == ["Nộp hồ sơ tại bộ phận một cửa"]


def test_create_makes_an_unpublished_draft_and_refuses_a_taken_id(
    client: TestClient, console_engine: Engine, catalogue: list[Procedure]
) -> None:
    headers = signed_in(client, EDITOR)
    new = {"id": "thu-nghiem.nuoi-ong", "name": "Cấp phép nuôi ong trong khu dân cư", "source": "cán bộ"}

    created = client.post("/api/admin/procedures", json=new, headers=headers)

    assert created.status_code == 200 and created.json() == {
        "id": new["id"],
        "revision": 1,
        "status": "draft",
    }
    assert client.get(f"/api/admin/procedures/{new['id']}").json()["status"] == "draft"
    assert new["id"] not in {p.id for p in catalogue_store.load_all(console_engine, published_only=True)}
    taken = client.post("/api/admin/procedures", json={**new, "id": TARGET}, headers=headers)
    assert taken.status_code == 409 and TARGET in taken.json()["message"]


def test_history_shows_who_when_and_a_diff_and_revert_makes_an_old_revision_the_draft(
    client: TestClient, console_engine: Engine, catalogue: list[Procedure]
) -> None:
    editor = signed_in(client, EDITOR)
    original = client.get(f"/api/admin/procedures/{TARGET}").json()
    client.put(
        f"/api/admin/procedures/{TARGET}", json={**original, "fees": "Lệ phí 70.000 đồng"}, headers=editor
    )
    client.put(
        f"/api/admin/procedures/{TARGET}", json={**original, "fees": "Lệ phí 90.000 đồng"}, headers=editor
    )

    history = client.get(f"/api/admin/procedures/{TARGET}/revisions").json()

    assert [h["revision"] for h in history] == [3, 2, 1]
    assert history[0]["actor"] == EDITOR[0] and history[0]["at"] and history[0]["action"] == "edit"
    assert history[0]["diff"] == [
        {"field": "fees", "before": "Lệ phí 70.000 đồng", "after": "Lệ phí 90.000 đồng"}
    ]
    assert history[1]["diff"] == [
        {"field": "fees", "before": original["fees"], "after": "Lệ phí 70.000 đồng"}
    ]
    assert history[2]["actor"] == "seed"

    refused = client.post(f"/api/admin/procedures/{TARGET}/revert", json={"revision": 1}, headers=editor)
    assert refused.status_code == 403

    client.cookies.clear()
    admin = signed_in(client, ADMIN)
    reverted = client.post(f"/api/admin/procedures/{TARGET}/revert", json={"revision": 1}, headers=admin)

    assert reverted.status_code == 200 and reverted.json() == {"id": TARGET, "revision": 4, "status": "draft"}
    current = client.get(f"/api/admin/procedures/{TARGET}").json()
    assert current["fees"] == original["fees"] and current["status"] == "draft"
    newest = client.get(f"/api/admin/procedures/{TARGET}/revisions").json()[0]
    assert newest["action"] == "revert" and newest["actor"] == ADMIN[0]
    assert newest["diff"] == [{"field": "fees", "before": "Lệ phí 90.000 đồng", "after": original["fees"]}]
    assert [e["detail"]["from"] for e in audit.entries(console_engine, action="catalogue.revert")] == [1]
    missing = client.post(f"/api/admin/procedures/{TARGET}/revert", json={"revision": 99}, headers=admin)
    assert missing.status_code == 404 and "99" in missing.json()["message"]
    nonsense = client.post(f"/api/admin/procedures/{TARGET}/revert", json={"revision": "một"}, headers=admin)
    assert nonsense.status_code == 422 and nonsense.json()["problems"][0]["field"] == "revision"


def test_roles_csrf_and_unknown_ids(client: TestClient, catalogue: list[Procedure]) -> None:
    assert client.get("/api/admin/procedures").status_code == 401
    headers = signed_in(client, EDITOR)
    record: dict[str, Any] = client.get(f"/api/admin/procedures/{TARGET}").json()

    assert client.put(f"/api/admin/procedures/{TARGET}", json=record).status_code == 403  # no CSRF token
    forbidden = client.post(f"/api/admin/procedures/{TARGET}/publish", headers=headers)
    assert forbidden.status_code == 403 and "quyền" in forbidden.json()["message"]
    unknown = client.get("/api/admin/procedures/khong-co")
    assert unknown.status_code == 404 and "Không tìm thấy thủ tục" in unknown.json()["message"]
    assert client.put("/api/admin/procedures/khong-co", json=record, headers=headers).status_code == 404
    assert client.get("/api/admin/procedures/khong-co/revisions").status_code == 404
