"""The widget links the privacy notice with one short line when a conversation starts, and
only then (the line is not part of the saved history). Chromium against a real gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.integration.browser import launch, wait_widget_ready
from tests.security.conftest import Gateway


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as driver:
        chromium = launch(driver)
        yield chromium
        chromium.close()


def test_the_first_opening_shows_one_line_linking_the_privacy_notice(
    browser: Browser, gateway: Gateway
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(gateway.base + "/")
        wait_widget_ready(page)
        page.get_by_role("button", name="Hỏi trợ lý").click()
        link = page.get_by_role("link", name="Xem cách bảo vệ dữ liệu cá nhân")
        expect(link).to_be_visible()
        assert link.get_attribute("href") == gateway.base + "/privacy"
        expect(page.locator(".cd-privacy")).to_contain_text("lưu có thời hạn")
        with context.expect_page() as opened:
            link.click()
        notice = opened.value
        notice.wait_for_load_state()
        expect(notice.get_by_role("heading", level=1)).to_contain_text("dữ liệu cá nhân")
        assert "91/2025/QH15" in notice.content()
        page.reload()  # the same conversation, reopened: the line is not shown again
        wait_widget_ready(page)
        expect(page.get_by_role("dialog")).to_be_visible()
        expect(page.locator(".cd-privacy")).to_have_count(0)
    finally:
        context.close()
