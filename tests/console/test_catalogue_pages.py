"""The catalogue pages as an officer uses them (server-rendered HTML through the real app):
list with filters and search, the edit form with errors shown by field, the preview of the
citizen's answer, history with diffs, and which buttons each role gets."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bot.console import catalogue_forms
from bot.settings import Settings
from knowledge import catalogue_store
from knowledge.models import Procedure
from tests.console.conftest import ADMIN, EDITOR
from tests.console.helpers import form_csrf, login, settings_without_index

TARGET = "cancuoc.cap-lai"
UNKNOWN = "danh mục chưa có thông tin"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    yield settings_without_index(tmp_path, monkeypatch)


@pytest.fixture
def catalogue(console_engine: Engine, seed: list[Procedure]) -> list[Procedure]:
    chosen = [p for p in seed if p.id in {TARGET, "gplx.doi"}]
    bare = Procedure(id="thu-nghiem.it-thong-tin", name="Thủ tục còn thiếu thông tin", source="kiểm thử")
    catalogue_store.seed_if_empty(console_engine, [*chosen, bare])
    return [*chosen, bare]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def edit_form(client: TestClient, procedure_id: str) -> dict[str, object]:
    """The edit form's current values, as the browser would submit them."""
    record = client.get(f"/api/admin/procedures/{procedure_id}").json()
    page = client.get(f"/admin/procedures/{procedure_id}").text
    values = {k: v for k, v in catalogue_forms.to_form(record).items() if k != "id"}
    for key, value in values.items():
        if isinstance(value, str) and value:  # the page shows exactly these values
            assert html.escape(value, quote=False).split("\n")[0] in page, key
    return {**values, "csrf": form_csrf(page)}


def test_the_list_filters_searches_and_offers_import_and_export(
    client: TestClient, catalogue: list[Procedure]
) -> None:
    assert login(client, *EDITOR).status_code == 303
    page = client.get("/admin/procedures")
    assert page.status_code == 200 and "Danh mục thủ tục" in page.text
    for procedure in catalogue:
        assert procedure.name in page.text
    assert 'hx-post="/api/admin/import"' in page.text and 'name="file"' in page.text
    assert 'href="/api/admin/export.xlsx"' in page.text and 'href="/api/admin/export.csv"' in page.text
    found = client.get("/admin/procedures", params={"q": "lam lai can cuoc"}).text
    assert "1 thủ tục" in found and catalogue[0].name in found and "gplx" not in found
    drafts = client.get("/admin/procedures", params={"status": "draft"}).text
    assert "0 thủ tục" in drafts


def test_saving_the_form_makes_a_draft_and_errors_are_shown_by_field(
    client: TestClient, console_engine: Engine, catalogue: list[Procedure]
) -> None:
    assert login(client, *EDITOR).status_code == 303
    form = edit_form(client, TARGET)

    broken = client.post(
        f"/admin/procedures/{TARGET}", data={**form, "name": "x", "url": "www.thieu-giao-thuc.vn"}
    )

    assert broken.status_code == 422
    assert 'id="err-name"' in broken.text and 'id="err-url"' in broken.text
    assert re.search(r'id="f-name"[^>]*aria-invalid="true"', broken.text)
    assert "Quá ngắn (tối thiểu 3 ký tự)" in broken.text and "url phải bắt đầu" in broken.text
    assert "www.thieu-giao-thuc.vn" in broken.text  # what the officer typed is kept
    assert client.get(f"/api/admin/procedures/{TARGET}").json()["revision"] == 1

    saved = client.post(
        f"/admin/procedures/{TARGET}",
        data={**form, "aliases": f"{form['aliases']}\nthẻ chíp bị mất"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = client.get(saved.headers["location"])
    assert "Đã lưu bản nháp" in page.text and "Bản nháp chờ công bố" in page.text
    record = client.get(f"/api/admin/procedures/{TARGET}").json()
    assert record["revision"] == 2 and "thẻ chíp bị mất" in record["aliases"]
    history = text_of(page.text)
    assert "Lịch sử thay đổi" in history and "1 trường: aliases" in history
    assert re.search(r"<ins>[^<]*thẻ chíp bị mất", page.text)  # the diff shows what was added, readable
    no_token = client.post(f"/admin/procedures/{TARGET}", data={k: v for k, v in form.items() if k != "csrf"})
    assert no_token.status_code == 403


def test_the_preview_shows_the_citizens_facts_and_says_what_is_missing(
    client: TestClient, catalogue: list[Procedure]
) -> None:
    assert login(client, *EDITOR).status_code == 303
    full = next(p for p in catalogue if p.id == TARGET)

    page = text_of(client.get(f"/admin/procedures/{TARGET}").text)
    assert "Người dân sẽ nhận được" in page and full.name in page
    assert str(full.fees) in page and str(full.processing_time) in page

    bare = text_of(client.get("/admin/procedures/thu-nghiem.it-thong-tin").text)
    for fact in (
        "Nộp ở đâu",
        "Thời gian giải quyết",
        "Lệ phí",
        "Nộp trực tuyến",
        "Hồ sơ cần chuẩn bị",
        "Trang chính thức",
    ):
        assert f"{fact}: {UNKNOWN}" in bare, fact

    form = edit_form(client, "thu-nghiem.it-thong-tin")
    fragment = client.post(
        "/admin/procedures/thu-nghiem.it-thong-tin/preview",
        data={**form, "fees": "Miễn phí", "channels": ["online_full"]},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    preview = text_of(fragment.text)
    assert "Lệ phí: Miễn phí" in preview and "Nộp trực tuyến: có (trực tuyến toàn trình)" in preview
    assert f"Thời gian giải quyết: {UNKNOWN}" in preview


def test_only_admins_get_publish_and_revert_buttons(client: TestClient, catalogue: list[Procedure]) -> None:
    assert login(client, *EDITOR).status_code == 303
    form = edit_form(client, TARGET)
    client.post(f"/admin/procedures/{TARGET}", data={**form, "fees": "Lệ phí 70.000 đồng"})
    as_editor = client.get(f"/admin/procedures/{TARGET}").text
    assert "Công bố bản nháp" not in as_editor and "Khôi phục phiên bản" not in as_editor
    publish = client.post(f"/admin/procedures/{TARGET}/publish", data={"csrf": form_csrf(as_editor)})
    assert publish.status_code == 403

    client.cookies.clear()
    assert login(client, *ADMIN).status_code == 303
    as_admin = client.get(f"/admin/procedures/{TARGET}").text
    assert "Công bố bản nháp" in as_admin and "Khôi phục phiên bản 1" in as_admin
    reverted = client.post(
        f"/admin/procedures/{TARGET}/revert",
        data={"csrf": form_csrf(as_admin), "revision": "1"},
        follow_redirects=False,
    )
    assert reverted.status_code == 303
    assert client.get(f"/api/admin/procedures/{TARGET}").json()["fees"] == next(
        p.fees for p in catalogue if p.id == TARGET
    )


def test_a_new_procedure_from_the_form(client: TestClient, catalogue: list[Procedure]) -> None:
    assert login(client, *EDITOR).status_code == 303
    page = client.get("/admin/procedures/new")
    assert page.status_code == 200 and 'name="id"' in page.text
    csrf = form_csrf(page.text)

    taken = client.post(
        "/admin/procedures/new", data={"csrf": csrf, "id": TARGET, "name": "Trùng mã", "source": "x"}
    )
    assert taken.status_code == 409 and "đã có trong danh mục" in taken.text

    created = client.post(
        "/admin/procedures/new",
        data={
            "csrf": csrf,
            "id": "thu-nghiem.moi",
            "name": "Thủ tục mới lập",
            "source": "cán bộ",
            "steps": "Bước 1\n\nBước 2",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"].startswith(
        "/admin/procedures/thu-nghiem.moi"
    )
    record = client.get("/api/admin/procedures/thu-nghiem.moi").json()
    assert record["status"] == "draft" and record["steps"] == ["Bước 1", "Bước 2"]


def test_pages_need_a_session(client: TestClient, catalogue: list[Procedure]) -> None:
    for path in ("/admin/procedures", f"/admin/procedures/{TARGET}", "/admin/procedures/new"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin/login", path
