"""Takes docs/screenshot.png: the demo portal page with the assistant open after a short
conversation, in headless chromium against the real stack on 127.0.0.1.

    .venv/bin/python tests/integration/screenshot.py [--out docs/screenshot.png]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import expect, sync_playwright

from bot.settings import PROJECT_ROOT
from tests.integration.browser import launch, live_stack, wait_widget_ready

QUESTIONS = ["xin chào", "mất căn cước thì làm lại thế nào"]


def warm_up(base: str) -> None:
    """The action server loads the index and the encoder on its first question."""
    for _ in range(10):
        reply = httpx.post(f"{base}/api/chat", json={"session": None, "message": QUESTIONS[-1]}, timeout=30)
        if "Lệ phí" in reply.text:
            return
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "screenshot.png")
    args = parser.parse_args()
    with live_stack() as base, sync_playwright() as playwright:
        warm_up(base)
        browser = launch(playwright)
        page = browser.new_page(
            viewport={"width": 1280, "height": 900}, locale="vi-VN", reduced_motion="reduce"
        )
        page.goto(base + "/")
        wait_widget_ready(page)
        page.get_by_role("button", name="Hỏi trợ lý").click()
        for question in QUESTIONS:
            before = page.locator(".cd-bot").count()
            page.locator("#cd-input").fill(question)
            page.locator("#cd-input").press("Enter")
            expect(page.locator(".cd-bot")).not_to_have_count(before, timeout=30_000)
            expect(page.locator(".cd-typing")).to_be_hidden(timeout=30_000)
        # Show the procedure answer with its quick replies at the top of the conversation.
        answer = page.locator(".cd-bot").filter(has=page.locator(".cd-quick", has_text="Lệ phí")).last
        answer.evaluate(
            "node => { const log = node.parentNode;"
            " log.scrollTop += node.getBoundingClientRect().top - log.getBoundingClientRect().top - 70; }"
        )
        page.locator("#cd-input").blur()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
