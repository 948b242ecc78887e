"""The catalogue pages in Debian's chromium against a real gateway process on loopback: sign
in by keyboard, import a file through the page's form (htmx) and read the report, the live
preview of the citizen's answer, errors by field on a new procedure, at 1280 px and 768 px
with no horizontal scrolling, and axe-core finding nothing serious on any of these pages.
(Publishing end to end, with Rasa and the action server, is in test_publish_stack.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from bot.console.accounts import add_operator
from bot.settings import Settings
from knowledge import catalogue_store
from knowledge.db import create_db_engine, migrate
from knowledge.models import Procedure
from tests.integration.browser import axe_violations, fits, launch, lone_gateway

pytestmark = pytest.mark.integration

EDITOR = ("bientap-trinh-duyet", "mat-khau-bien-tap-9")
TARGET = "cancuoc.cap-lai"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, seed: list[Procedure]) -> Iterator[str]:
    var = tmp_path_factory.mktemp("catalogue-browser") / "var"
    settings = Settings(var_dir=var)
    migrate(settings.sqlalchemy_url)
    engine = create_db_engine(settings.sqlalchemy_url)
    catalogue_store.seed_if_empty(engine, [p for p in seed if p.id in {TARGET, "gplx.doi", "hotich.khai-tu"}])
    add_operator(engine, *EDITOR, role="editor")
    engine.dispose()
    with lone_gateway(var, CONGDAN_INDEX_DIR=str(var / "index")) as base:
        yield base


@pytest.fixture(scope="module")
def page(gateway: str) -> Iterator[Page]:
    with sync_playwright() as driver:
        browser = launch(driver)
        # bypass_csp only so that the test can inject axe-core; the pages run unchanged.
        context = browser.new_context(
            locale="vi-VN", viewport={"width": 1280, "height": 900}, bypass_csp=True
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(gateway + "/admin/login")
        page.get_by_label("Tên đăng nhập").fill(EDITOR[0])
        page.get_by_label("Mật khẩu").fill(EDITOR[1])
        page.get_by_label("Mật khẩu").press("Enter")
        expect(page).to_have_url(gateway + "/admin")
        yield page
        assert errors == []
        browser.close()


@pytest.mark.parametrize("width", [1280, 768])
def test_list_and_edit_pages_are_accessible_at_both_widths(page: Page, gateway: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(gateway + "/admin/procedures")
    expect(page.get_by_role("heading", level=1)).to_have_text("Danh mục thủ tục")
    assert fits(page) and axe_violations(page) == []
    page.get_by_role("link", name="Cấp lại thẻ căn cước").click()
    expect(page.get_by_label("Lệ phí")).to_be_visible()
    assert fits(page) and axe_violations(page) == []


def test_the_preview_follows_the_form_as_the_officer_types(page: Page, gateway: str) -> None:
    page.goto(gateway + f"/admin/procedures/{TARGET}")
    page.get_by_label("Lệ phí").fill("Miễn lệ phí cho người trên 80 tuổi")
    page.get_by_label("Lệ phí").press("Tab")  # a change event: htmx posts the form (with its CSRF header)
    expect(page.locator("#preview")).to_contain_text("Lệ phí: Miễn lệ phí cho người trên 80 tuổi")
    page.get_by_label("Thời gian giải quyết").fill("")
    page.get_by_label("Thời gian giải quyết").press("Tab")
    expect(page.locator("#preview")).to_contain_text("Thời gian giải quyết: danh mục chưa có thông tin")


def test_import_through_the_page_shows_the_report(page: Page, gateway: str, tmp_path: Path) -> None:
    table = tmp_path / "bang.csv"
    table.write_text(
        "id,name,source\nthu-nghiem.trinh-duyet,Thủ tục nhập qua trình duyệt,cán bộ\nsai ma,Thủ tục lỗi,cán bộ\n",
        encoding="utf-8",
    )
    page.goto(gateway + "/admin/procedures")
    page.get_by_label("Chọn tệp").set_input_files(str(table))
    page.get_by_role("button", name="Nhập", exact=True).click()
    report = page.locator("#import-report")
    expect(report).to_contain_text("Tạo mới (bản nháp): 1")
    expect(report).to_contain_text("Từ chối: 1")
    expect(report.get_by_role("table")).to_contain_text("Thủ tục lỗi")
    assert axe_violations(page) == []
    page.goto(gateway + "/admin/procedures?status=draft")
    expect(page.get_by_role("link", name="Thủ tục nhập qua trình duyệt")).to_be_visible()


def test_a_new_procedure_with_errors_lists_them_by_field(page: Page, gateway: str) -> None:
    page.goto(gateway + "/admin/procedures/new")
    page.get_by_label("Mã thủ tục", exact=False).fill("mã có dấu")
    page.get_by_role("button", name="Lưu bản nháp").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Mã thủ tục")
    expect(summary).to_contain_text("Tên thủ tục")
    expect(page.get_by_label("Tên thủ tục")).to_have_attribute("aria-invalid", "true")
    summary.get_by_role("link", name="Tên thủ tục").click()  # the summary's links lead to the field
    expect(page.get_by_label("Tên thủ tục")).to_be_focused()
    assert axe_violations(page) == []


def test_saving_an_unchanged_form_makes_no_revision(page: Page, gateway: str) -> None:
    # Its channels are stored as in_person, online_partial, post: not the checkboxes' usual order.
    page.goto(gateway + f"/admin/procedures/{TARGET}")
    page.get_by_role("button", name="Lưu bản nháp").click()
    expect(page.get_by_role("status").first).to_contain_text("Không có thay đổi nào để lưu")
    expect(page.get_by_role("table", name="1 phiên bản, mới nhất trước")).to_be_visible()
