"""The console in a real browser (Debian chromium via Playwright) against a real gateway
process on 127.0.0.1: an officer signs in, opens a ticket, answers it, and the citizen's
open widget in another page shows the answer by itself; every console page is used by
keyboard, fits 1280 px and 768 px, and axe-core finds no serious or critical violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot import inbox
from bot.console.accounts import add_operator
from bot.sessions import SessionTokens, load_or_create_secret
from knowledge.db import create_db_engine, migrate
from tests.integration.browser import axe_violations, fits, launch, lone_gateway, wait_widget_ready

pytestmark = pytest.mark.integration

OFFICER = ("canbo-trinh-duyet", "mat-khau-trinh-duyet-1")
WIDGET_TIMEOUT_MS = 10_000  # a bound on waiting (the widget polls every 3 s), not a latency target


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as driver:
        chromium = launch(driver)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    var_dir = tmp_path_factory.mktemp("console-browser") / "var"
    url = f"sqlite:///{var_dir / 'congdan.db'}"
    migrate(url)
    engine = create_db_engine(url)
    add_operator(engine, *OFFICER, role="admin")
    with lone_gateway(var_dir, CONGDAN_NOTIFIER_ENABLED="false") as base:
        yield {"base": base, "engine": engine, "var_dir": var_dir}
    engine.dispose()


def citizen_with_open_widget(browser: Browser, base: str, var_dir: Path) -> tuple[Page, str]:
    """A citizen on the demo page who has written once (so has a session); returns the page
    and the conversation's sender id, as the gateway derives it from the widget's token."""
    page = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860}).new_page()
    page.goto(base + "/")
    wait_widget_ready(page)
    page.get_by_role("button", name="Hỏi trợ lý").click()
    page.locator("#cd-input").fill("cho tôi nói chuyện với cán bộ")
    page.locator("#cd-input").press("Enter")
    expect(page.locator(".cd-bot")).to_have_count(2, timeout=WIDGET_TIMEOUT_MS)  # hello + the apology
    token = page.evaluate("JSON.parse(sessionStorage.getItem('congdan.widget')).session")
    sender = SessionTokens(load_or_create_secret(None, var_dir)).sender_id(token)
    assert sender
    return page, sender


def sign_in_by_keyboard(page: Page, base: str) -> None:
    page.goto(base + "/admin/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").startswith("Bỏ qua")
    page.keyboard.press("Tab")
    page.keyboard.type(OFFICER[0])
    page.keyboard.press("Tab")
    page.keyboard.type(OFFICER[1])
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/admin")


def test_an_officer_answers_and_the_open_widget_shows_it(browser: Browser, site: dict[str, Any]) -> None:
    base = site["base"]
    citizen, sender = citizen_with_open_widget(browser, base, site["var_dir"])
    code = inbox.create_handoff(site["engine"], sender, "asked_human", "cho tôi nói chuyện với cán bộ", None)

    officer = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 860}).new_page()
    sign_in_by_keyboard(officer, base)
    officer.get_by_role("link", name="Hộp thư cán bộ").click()
    officer.get_by_role("link", name=code).click()
    officer.get_by_label("Nội dung trả lời cho người dân").fill("Anh/Chị mang căn cước tới bộ phận một cửa.")
    officer.get_by_role("button", name="Gửi trả lời").click()
    expect(officer.get_by_role("status")).to_have_text("Đã gửi trả lời.")

    expected = f"Cán bộ đã trả lời yêu cầu {code}: Anh/Chị mang căn cước tới bộ phận một cửa."
    expect(citizen.locator(".cd-bot > p").last).to_have_text(expected, timeout=WIDGET_TIMEOUT_MS)
    officer.reload()
    expect(officer.get_by_text("đã hiện cho người dân")).to_be_visible()
    officer.get_by_role("button", name="Đóng yêu cầu").click()
    expect(officer.get_by_text("Đã đóng")).to_be_visible()
    citizen.context.close()
    officer.context.close()


@pytest.mark.parametrize("width", [1280, 768])
def test_every_console_page_is_accessible_and_fits(
    browser: Browser, site: dict[str, Any], width: int
) -> None:
    code = inbox.create_handoff(site["engine"], "web:trinh-duyet", "two_fallbacks", "hỏi về đất đai", None)
    # bypass_csp only so that the test can inject axe-core; the pages run unchanged.
    context = browser.new_context(locale="vi-VN", viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(site["base"] + "/admin/login")
    assert axe_violations(page) == [] and fits(page)
    sign_in_by_keyboard(page, site["base"])
    for path in (
        "/admin",
        "/admin/handoffs",
        f"/admin/handoffs/{code}",
        "/admin/handoffs?status=closed",
        "/admin/audit",
    ):
        page.goto(site["base"] + path)
        assert axe_violations(page) == [], path
        assert fits(page), f"{path} scrolls sideways at {width} px"
    # Focus is visible: the focused link gets an outline.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.goto(site["base"] + "/admin")
    page.get_by_role("button", name=re.compile("Đăng xuất")).click()
    page.wait_for_url(site["base"] + "/admin/login")
    assert errors == []
    context.close()
