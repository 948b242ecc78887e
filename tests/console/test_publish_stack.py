"""Edit → publish → the running assistant answers with the change, no restart: the real
gateway, Rasa (trained model) and action server on loopback ports, with their own index
of the seed catalogue and a database holding that catalogue. An admin adds an alias through
the console API and publishes it; then ``GET /api/search`` and a chat answer use it. In
Debian's chromium: an admin logs in, edits an alias in the form, publishes, watches the job,
and the widget answers with the change; axe-core finds nothing serious on those pages."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect, sync_playwright

from bot.console.accounts import add_operator
from knowledge import catalogue_store, index
from knowledge.db import create_db_engine
from knowledge.models import Procedure
from tests.console.helpers import api_csrf, login
from tests.integration.browser import axe_violations, launch, wait_widget_ready
from tests.integration.conftest import MODEL, chat, prepare, stack_env, start, stop, texts, wait_ready

pytestmark = pytest.mark.integration

TARGET = "cancuoc.cap-lai"
TARGET_NAME = "Cấp lại thẻ căn cước"
ALIAS = "xin cấp thẻ định danh mức ba"
WIDGET_ALIAS = "cấp lại thẻ công dân gắn chíp bị ướt"
ANSWER_TIMEOUT_MS = 30_000
ADMIN = ("quantri-stack", "mat-khau-quan-tri-2")


@pytest.fixture(scope="module")
def publish_stack(
    tmp_path_factory: pytest.TempPathFactory, index_root: Path, seed: list[Procedure]
) -> Iterator[dict[str, Any]]:
    assert MODEL.exists(), "no trained model: run `make model` (make test does it)"
    tmp = tmp_path_factory.mktemp("publish-stack")
    shutil.copytree(index_root, tmp / "index")  # this stack's own index: publishing changes it
    env = stack_env(tmp, tmp / "index")
    # What is tested is that the change is used, not how fast (bench_publish measures that):
    # a turn slowed by other jobs on this shared machine must not turn into "hệ thống đang bận".
    env["CONGDAN_RASA_TIMEOUT_S"] = "15"
    settings, procs = prepare(env)
    engine = create_db_engine(settings.sqlalchemy_url)
    catalogue_store.seed_if_empty(engine, seed)
    add_operator(engine, *ADMIN, role="admin")
    engine.dispose()
    running = [start(procs[name], env, tmp / f"{name}.log") for name in procs]
    base = f"http://127.0.0.1:{settings.port}"
    try:
        wait_ready(base)
        yield {"base": base, "index": tmp / "index"}
    finally:
        for process in running:
            stop(process)


def search(base: str, query: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/api/search", params={"q": query, "top": 3}, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_an_alias_published_in_the_console_is_used_by_search_and_chat_without_a_restart(
    publish_stack: dict[str, Any],
) -> None:
    base = publish_stack["base"]
    before = search(base, ALIAS)
    assert not (before["decision"] == "confident" and before["results"][0]["id"] == TARGET), before
    assert TARGET_NAME not in texts(chat(base, None, ALIAS))
    version = index.current_version(publish_stack["index"])

    with httpx.Client(base_url=base, timeout=30) as admin:
        assert login(admin, *ADMIN).status_code == 303
        headers = {"X-CSRF-Token": api_csrf(admin)}
        record = admin.get(f"/api/admin/procedures/{TARGET}").json()
        record["aliases"] = [*record["aliases"], ALIAS]
        assert admin.put(f"/api/admin/procedures/{TARGET}", json=record, headers=headers).status_code == 200
        started = time.monotonic()
        job = admin.post(f"/api/admin/procedures/{TARGET}/publish", headers=headers)
        assert job.status_code == 202, job.text
        while (state := admin.get(f"/api/admin/jobs/{job.json()['job']}").json())["state"] == "running":
            assert time.monotonic() - started < 300, state
            time.sleep(0.3)
        assert state["state"] == "done", state

    after = search(base, ALIAS)
    assert after["decision"] == "confident" and after["results"][0]["id"] == TARGET, after
    assert index.current_version(publish_stack["index"]) != version
    answer = texts(chat(base, None, ALIAS))
    assert TARGET_NAME in answer and "Lệ phí" in answer, answer


def ask_widget(context: BrowserContext, base: str, question: str) -> str:
    """In a new tab (a new conversation), open the demo portal's widget, ask, return the
    bot's answer text."""
    page = context.new_page()
    page.goto(base + "/")
    wait_widget_ready(page)
    page.get_by_role("button", name="Hỏi trợ lý").click()
    before = page.locator(".cd-bot").count()
    page.locator("#cd-input").fill(question)
    page.locator("#cd-input").press("Enter")
    expect(page.locator(".cd-bot")).not_to_have_count(before, timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator(".cd-typing")).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
    answer = "\n".join(page.locator(".cd-bot").all_inner_texts()[before:])
    page.close()
    return answer


def test_in_the_browser_log_in_edit_publish_and_the_widget_answers_with_the_change(
    publish_stack: dict[str, Any],
) -> None:
    base = publish_stack["base"]
    with sync_playwright() as driver:
        browser = launch(driver)
        # bypass_csp only so that the test can inject axe-core; the pages run unchanged.
        context = browser.new_context(
            locale="vi-VN", viewport={"width": 1280, "height": 900}, bypass_csp=True
        )
        try:
            errors: list[str] = []
            console = context.new_page()
            console.on("pageerror", lambda error: errors.append(str(error)))
            assert TARGET_NAME not in ask_widget(context, base, WIDGET_ALIAS).split("\n")[0]

            console.goto(base + "/admin/login")
            console.get_by_label("Tên đăng nhập").fill(ADMIN[0])
            console.get_by_label("Mật khẩu").fill(ADMIN[1])
            console.get_by_label("Mật khẩu").press("Enter")
            expect(console).to_have_url(base + "/admin")

            console.goto(base + "/admin/procedures?q=can+cuoc")
            expect(console.get_by_role("link", name=TARGET_NAME)).to_be_visible()
            assert axe_violations(console) == []
            console.get_by_role("link", name=TARGET_NAME).click()
            expect(console.get_by_role("heading", level=1)).to_have_text(TARGET_NAME)
            assert axe_violations(console) == []

            aliases = console.get_by_label("Tên gọi khác", exact=False)
            aliases.fill(aliases.input_value() + "\n" + WIDGET_ALIAS)
            console.get_by_role("button", name="Lưu bản nháp").click()
            expect(console.get_by_role("status").first).to_contain_text("Đã lưu bản nháp")
            assert axe_violations(console) == []

            console.get_by_role("button", name="Công bố bản nháp").click()
            expect(console).to_have_url(re.compile(r"/admin/jobs/[0-9a-f]+$"))
            expect(console.locator("[data-state=done]")).to_be_visible(timeout=120_000)  # htmx polling
            assert axe_violations(console) == []

            answer = ask_widget(context, base, WIDGET_ALIAS)
            assert TARGET_NAME in answer and "Lệ phí" in answer, answer
            assert errors == []
        finally:
            context.close()
            browser.close()
