"""The widget in a real browser (Debian chromium via Playwright) against the real stack on
127.0.0.1: the demo portal page, a conversation by mouse and by keyboard, history across a
reload, quick replies, links, HTML shown as text, failed sends, 429, offline, 320 px, speech,
and axe-core (vendored) with no serious or critical violations."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, expect, sync_playwright

from bot.settings import PROJECT_ROOT
from tests.integration.browser import axe_violations, launch, lone_gateway, shadow, wait_widget_ready

pytestmark = pytest.mark.integration

ANSWER_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch(playwright)
    yield browser
    browser.close()


class Watch:
    """What the page did that the citizen must never see: JS dialogs, page errors, CSP blocks."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda msg: self.errors.append(msg.text) if msg.type == "error" else None,
        )


def new_page(browser: Browser, **options: Any) -> tuple[BrowserContext, Page, Watch]:
    context = browser.new_context(locale="vi-VN", **options)
    page = context.new_page()
    return context, page, Watch(page)


@pytest.fixture(scope="module")
def warm(stack: dict[str, object]) -> dict[str, object]:
    """The action server loads the index and the encoder on its first question: ask once first."""
    base = str(stack["base"])
    for _ in range(10):
        body = httpx.post(
            f"{base}/api/chat",
            json={"session": None, "message": "mất căn cước thì làm lại thế nào"},
            timeout=15,
        ).json()
        if "căn cước" in json.dumps(body, ensure_ascii=False).lower():
            break
        time.sleep(2)
    return stack


@pytest.fixture
def portal(browser: Browser, warm: dict[str, object]) -> Iterator[tuple[Page, Watch, str]]:
    context, page, watch = new_page(browser, viewport={"width": 1280, "height": 860})
    base = str(warm["base"])
    page.goto(base + "/")
    wait_widget_ready(page)
    yield page, watch, base
    context.close()


def bot_texts(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".cd-bot > p").all_inner_texts()]


def send(page: Page, text: str) -> None:
    """Type a question and press Enter; wait until the bot's answer to it is shown."""
    before = page.locator(".cd-bot").count()
    page.locator("#cd-input").fill(text)
    page.locator("#cd-input").press("Enter")
    expect(page.locator(".cd-bot")).not_to_have_count(before, timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator(".cd-typing")).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)


def open_widget(page: Page) -> None:
    page.get_by_role("button", name="Hỏi trợ lý").click()
    expect(page.get_by_role("dialog", name="Trợ lý Dịch vụ công")).to_be_visible()


# ---- the conversation ----------------------------------------------------------------------


def test_demo_page_looks_like_a_portal_and_the_widget_is_a_closed_launcher(
    portal: tuple[Page, Watch, str],
) -> None:
    page, watch, _ = portal
    expect(page.get_by_text("Cổng Dịch vụ công tỉnh …").first).to_be_visible()
    expect(page.locator(".tiles li")).to_have_count(6)
    expect(page.locator("footer")).to_be_visible()
    launcher = page.get_by_role("button", name="Hỏi trợ lý")
    expect(launcher).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert watch.errors == []  # no CSP violation, no script error


def test_a_conversation_with_quick_replies_links_and_history_after_reload(
    portal: tuple[Page, Watch, str],
) -> None:
    page, watch, _ = portal
    open_widget(page)
    assert shadow(page, "return root.activeElement && root.activeElement.id") == "cd-input"
    send(page, "xin chào")
    assert "Xin chào Anh/Chị" in bot_texts(page)[-1]

    send(page, "mất căn cước làm lại thế nào")
    # The answer (with its quick replies) may be followed by a feedback question.
    answer = page.locator(".cd-bot").filter(has=page.locator(".cd-quick", has_text="Lệ phí")).last
    expect(answer).to_contain_text("căn cước")
    quick = answer.locator(".cd-quick")
    assert quick.count() >= 2
    titles = quick.all_inner_texts()
    assert "Lệ phí" in titles
    # The live region announces the newest bot message.
    expect(page.locator(".cd-announcer")).to_contain_text(bot_texts(page)[-1][:30])
    # Official links open safely in a new tab.
    links = answer.locator("a")
    assert links.count() >= 1
    for i in range(links.count()):
        link = links.nth(i)
        assert (link.get_attribute("href") or "").startswith("https://")
        assert link.get_attribute("target") == "_blank"
        assert link.get_attribute("rel") == "noopener noreferrer"

    bots_before = page.locator(".cd-bot").count()
    quick.filter(has_text="Lệ phí").click()
    expect(page.locator(".cd-user").last).to_have_text("Anh/Chị: Lệ phí")
    expect(page.locator(".cd-bot")).not_to_have_count(bots_before, timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator(".cd-bot").nth(bots_before)).to_contain_text("Lệ phí")

    shown = page.locator(".cd-msg").all_inner_texts()
    session = page.evaluate("JSON.parse(sessionStorage.getItem('congdan.widget')).session")
    assert session
    page.reload()
    wait_widget_ready(page)
    expect(page.get_by_role("dialog")).to_be_visible()  # it stays open, with the same conversation
    assert page.locator(".cd-msg").all_inner_texts() == shown
    send(page, "còn lệ phí thì sao?")  # the same server-side conversation continues
    assert page.evaluate("JSON.parse(sessionStorage.getItem('congdan.widget')).session") == session
    assert watch.errors == [] and watch.dialogs == []


def test_everything_by_keyboard(portal: tuple[Page, Watch, str]) -> None:
    page, _, _ = portal
    on_launcher = "return root.activeElement && root.activeElement.classList.contains('cd-launcher')"
    for _ in range(40):
        page.keyboard.press("Tab")
        if shadow(page, on_launcher):
            break
    assert shadow(page, on_launcher), "the launcher is reachable with Tab"
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    assert shadow(page, "return root.activeElement.id") == "cd-input"  # focus moved into the dialog
    page.keyboard.type("mất căn cước thì làm lại thế nào")
    before = page.locator(".cd-bot").count()
    page.keyboard.press("Enter")
    expect(page.locator(".cd-bot")).not_to_have_count(before, timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator(".cd-bot .cd-quick", has_text="Lệ phí").last).to_be_visible()

    # Shift+Tab back from the input to the last quick reply, and press it with Enter.
    on_quick = "return root.activeElement && root.activeElement.classList.contains('cd-quick')"
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        if shadow(page, on_quick):
            break
    assert shadow(page, on_quick)
    # Focus is visible: the focused button has an outline.
    outline = shadow(page, "return getComputedStyle(root.activeElement).outlineStyle")
    assert outline == "solid"
    title = shadow(page, "return root.activeElement.textContent")
    before = page.locator(".cd-bot").count()
    page.keyboard.press("Enter")
    expect(page.locator(".cd-user").last).to_have_text("Anh/Chị: " + title)
    expect(page.locator(".cd-bot")).not_to_have_count(before, timeout=ANSWER_TIMEOUT_MS)

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert shadow(page, on_launcher), "focus returns to the launcher"
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()


def test_html_from_the_citizen_is_shown_as_text_and_never_runs(portal: tuple[Page, Watch, str]) -> None:
    page, watch, _ = portal
    open_widget(page)
    attack = "<img src=x onerror=alert(1)>"
    send(page, attack)
    expect(page.locator(".cd-user").last.locator("p")).to_have_text(attack)
    assert shadow(page, "return root.querySelectorAll('img').length") == 0
    assert page.locator("img").count() == 0
    page.wait_for_timeout(300)
    assert watch.dialogs == []


def test_typing_indicator_then_only_safe_links_and_literal_text(portal: tuple[Page, Watch, str]) -> None:
    page, watch, _ = portal
    open_widget(page)
    held: list[Route] = []
    page.route("**/api/chat", lambda route: held.append(route))
    page.locator("#cd-input").fill("cho tôi số điện thoại")
    page.locator("#cd-input").press("Enter")
    expect(page.locator(".cd-typing")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Trợ lý đang trả lời…")
    for _ in range(100):  # let Playwright deliver the intercepted request
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    reply = {
        "session": None,
        "messages": [
            {
                "text": "<b>Liên hệ</b> <script>alert(2)</script>",
                "buttons": [{"title": "Gặp cán bộ", "payload": "/handoff"}],
                "links": [
                    {"title": "Gọi", "url": "tel:19001234"},
                    {"title": "Thư", "url": "mailto:hotro@example.gov.vn"},
                    {"title": "Trang", "url": "https://dichvucong.gov.vn/p/1"},
                    {"title": "JS", "url": "javascript:alert(3)"},
                    {"title": "Data", "url": "data:text/html,<script>alert(4)</script>"},
                ],
            }
        ],
    }
    held[0].fulfill(status=200, content_type="application/json", body=json.dumps(reply))
    answer = page.locator(".cd-bot").last
    expect(answer.locator("p")).to_have_text("<b>Liên hệ</b> <script>alert(2)</script>")
    expect(page.locator(".cd-typing")).to_be_hidden()
    assert answer.locator("a").all_inner_texts() == ["Gọi", "Thư", "Trang"]
    assert shadow(page, "return root.querySelectorAll('b, script').length") == 0
    sent: list[str] = []
    page.unroute("**/api/chat")
    page.route(
        "**/api/chat",
        lambda route: (
            sent.append(json.loads(route.request.post_data or "{}")["message"]),
            route.continue_(),
        ),
    )
    answer.get_by_role("button", name="Gặp cán bộ").click()
    expect(page.locator(".cd-user").last).to_have_text("Anh/Chị: Gặp cán bộ")  # the title is shown
    expect(page.locator(".cd-typing")).to_be_hidden(timeout=ANSWER_TIMEOUT_MS)
    assert sent == ["/handoff"]  # the payload is sent
    assert watch.dialogs == []


# ---- failures the citizen can recover from -------------------------------------------------


def test_a_failed_send_keeps_the_text_and_offers_retry(portal: tuple[Page, Watch, str]) -> None:
    page, _, _ = portal
    open_widget(page)
    page.route("**/api/chat", lambda route: route.abort("connectionfailed"))
    page.locator("#cd-input").fill("đăng ký tạm trú cho con")
    page.locator("#cd-input").press("Enter")
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("Chưa gửi được")
    expect(page.locator("#cd-input")).to_have_value("đăng ký tạm trú cho con")
    expect(page.locator(".cd-user")).to_have_count(0)  # nothing pretends to be sent
    page.unroute("**/api/chat")
    page.get_by_role("button", name="Thử lại").click()
    expect(page.locator(".cd-user").last).to_have_text("Anh/Chị: đăng ký tạm trú cho con")
    expect(page.locator(".cd-bot")).not_to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    expect(notice).to_be_hidden()
    expect(page.locator("#cd-input")).to_have_value("")


def test_a_429_is_explained_in_vietnamese(portal: tuple[Page, Watch, str]) -> None:
    page, _, _ = portal
    open_widget(page)

    def limited(route: Route) -> None:
        route.fulfill(
            status=429,
            headers={"Retry-After": "30", "Content-Type": "application/json"},
            body=json.dumps(
                {
                    "error": "too_many_requests",
                    "message": "Anh/Chị gửi nhanh quá, vui lòng chờ một chút rồi gửi lại.",
                }
            ),
        )

    page.route("**/api/chat", limited)
    page.locator("#cd-input").fill("lệ phí khai sinh")
    page.locator("#cd-input").press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Anh/Chị gửi nhanh quá")
    expect(page.locator("#cd-input")).to_have_value("lệ phí khai sinh")


def test_offline_notice_comes_and_goes(browser: Browser, warm: dict[str, object]) -> None:
    context, page, _ = new_page(browser)
    try:
        page.goto(str(warm["base"]) + "/")
        wait_widget_ready(page)
        open_widget(page)
        context.set_offline(True)
        expect(page.get_by_role("alert")).to_contain_text("Mất kết nối mạng")
        page.locator("#cd-input").fill("xin chào")
        page.locator("#cd-input").press("Enter")
        expect(page.locator("#cd-input")).to_have_value("xin chào")
        context.set_offline(False)
        expect(page.get_by_role("alert")).to_be_hidden()
    finally:
        context.close()


# ---- accessibility -------------------------------------------------------------------------


@pytest.mark.parametrize("high_contrast", [False, True])
def test_axe_finds_no_serious_or_critical_violation_on_the_open_widget(
    browser: Browser, warm: dict[str, object], high_contrast: bool
) -> None:
    # bypass_csp only so that the test can inject axe-core; the widget runs unchanged.
    context, page, _ = new_page(browser, bypass_csp=True)
    try:
        page.goto(str(warm["base"]) + "/")
        wait_widget_ready(page)
        open_widget(page)
        send(page, "mất căn cước thì làm lại thế nào")
        if high_contrast:
            page.get_by_role("button", name="Tương phản cao").click()
            expect(page.get_by_role("button", name="Tương phản cao")).to_have_attribute(
                "aria-pressed", "true"
            )
        assert axe_violations(page) == []
    finally:
        context.close()


def test_usable_at_320_px_with_44_px_targets(browser: Browser, warm: dict[str, object]) -> None:
    context, page, _ = new_page(
        browser, viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True
    )
    try:
        page.goto(str(warm["base"]) + "/")
        wait_widget_ready(page)
        page.get_by_role("button", name="Hỏi trợ lý").tap()
        send(page, "mất căn cước thì làm lại thế nào")
        panel = page.get_by_role("dialog").bounding_box()
        assert panel and panel["x"] >= 0 and panel["x"] + panel["width"] <= 320
        for name in ("#cd-input", ".cd-send", ".cd-close"):
            box = page.locator(name).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 320, name
        small = shadow(
            page,
            "return [...root.querySelectorAll('button, a')].filter(b => b.offsetParent)"
            ".map(b => [b.textContent, b.getBoundingClientRect()])"
            ".filter(([t, r]) => r.width < 44 || r.height < 44).map(([t]) => t)",
        )
        assert small == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 320  # no sideways scrolling
    finally:
        context.close()


def test_text_size_and_contrast_persist_and_motion_is_reduced(
    browser: Browser, warm: dict[str, object]
) -> None:
    context, page, _ = new_page(browser, reduced_motion="reduce")
    try:
        page.goto(str(warm["base"]) + "/")
        wait_widget_ready(page)
        open_widget(page)
        size = "return getComputedStyle(root.querySelector('.cd-log')).fontSize"
        assert shadow(page, size) == "18px"
        page.get_by_role("button", name="Chữ to hơn").click()
        page.get_by_role("button", name="Chữ to hơn").click()
        assert shadow(page, size) == "22px"
        page.get_by_role("button", name="Tương phản cao").click()
        page.reload()
        wait_widget_ready(page)
        assert shadow(page, size) == "22px"
        background = "return getComputedStyle(root.querySelector('.cd-log')).backgroundColor"
        assert shadow(page, background) == "rgb(0, 0, 0)"
        page.get_by_role("button", name="Chữ nhỏ hơn").click()
        assert shadow(page, size) == "20px"
        animation = "return getComputedStyle(root.querySelector('.cd-typing span')).animationName"
        assert shadow(page, animation) == "none"
    finally:
        context.close()


SPEECH_FAKES = """
window.__spoken = [];
window.speechSynthesis.speak = (u) => window.__spoken.push({text: u.text, lang: u.lang});
window.SpeechRecognition = class {
  start() { setTimeout(() => { this.onresult({results: [[{transcript: 'đăng ký khai sinh'}]]}); this.onend(); }, 10); }
  stop() {}
};
"""

NO_SPEECH = """
Object.defineProperty(window, 'speechSynthesis', {value: undefined});
Object.defineProperty(window, 'SpeechSynthesisUtterance', {value: undefined});
Object.defineProperty(window, 'SpeechRecognition', {value: undefined});
Object.defineProperty(window, 'webkitSpeechRecognition', {value: undefined});
"""


def test_read_aloud_in_vietnamese_and_voice_input(browser: Browser, warm: dict[str, object]) -> None:
    context, page, _ = new_page(browser)
    try:
        page.add_init_script(SPEECH_FAKES)
        page.goto(str(warm["base"]) + "/")
        wait_widget_ready(page)
        open_widget(page)
        page.get_by_role("button", name="Nói câu hỏi").click()
        expect(page.locator("#cd-input")).to_have_value("đăng ký khai sinh")
        page.locator(".cd-bot").last.get_by_role("button", name="Đọc to").click()
        spoken = page.evaluate("window.__spoken")
        assert spoken[-1]["lang"] == "vi-VN" and spoken[-1]["text"].startswith("Xin chào Anh/Chị")
    finally:
        context.close()


def test_speech_controls_are_hidden_where_the_browser_has_no_speech(
    browser: Browser, warm: dict[str, object]
) -> None:
    context, page, watch = new_page(browser)
    try:
        page.add_init_script(NO_SPEECH)
        page.goto(str(warm["base"]) + "/")
        wait_widget_ready(page)
        open_widget(page)
        expect(page.locator(".cd-read")).to_have_count(0)
        expect(page.locator(".cd-mic")).to_be_hidden()
        send(page, "xin chào")
        assert watch.errors == []
    finally:
        context.close()


def test_widget_and_its_css_stay_under_25_kb_gzipped() -> None:
    static = PROJECT_ROOT / "bot" / "static"
    total = sum(len(gzip.compress((static / name).read_bytes(), 9)) for name in ("widget.js", "widget.css"))
    assert total <= 25 * 1024


# ---- embedded in another site: one script tag, gateway found from its src, CORS --------------

PORTAL_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Other portal</title>
<style>button {{ background: lime !important; font-size: 40px !important; }} * {{ color: lime; }}</style></head>
<body><h1>Some other portal</h1>
<script src="{gateway}/widget.js" defer data-title="Hỏi đáp tỉnh" data-color="#ffd54f"
 data-position="left" data-lang="en"></script></body></html>"""


@contextlib.contextmanager
def portal_site(gateway: dict[str, str]) -> Iterator[str]:
    """Another origin (another loopback port) serving a page that embeds the widget from
    ``gateway["url"]`` (read per request, so the gateway may start after the site)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(PORTAL_PAGE.format(gateway=gateway["url"]).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_embedded_on_another_origin_it_works_only_when_that_origin_is_allowed(
    browser: Browser, tmp_path: Path
) -> None:
    with contextlib.ExitStack() as stack:
        gateway: dict[str, str] = {}
        allowed = stack.enter_context(portal_site(gateway))
        denied = stack.enter_context(portal_site(gateway))
        gateway["url"] = stack.enter_context(lone_gateway(tmp_path / "var", CONGDAN_ALLOWED_ORIGINS=allowed))
        for origin, works in ((allowed, True), (denied, False)):
            context, page, watch = new_page(browser)
            try:
                page.goto(origin + "/")
                wait_widget_ready(page)
                launcher = page.get_by_role("button", name="Ask the assistant")
                box = launcher.bounding_box()
                assert box and box["x"] < 200  # data-position="left"
                # The host page's CSS does not reach into the widget; light brand colour → dark text.
                color = shadow(page, "return getComputedStyle(root.querySelector('.cd-launcher')).color")
                assert color == "rgb(17, 17, 17)"
                launcher.click()
                expect(page.get_by_role("dialog", name="Hỏi đáp tỉnh")).to_be_visible()
                page.locator("#cd-input").fill("xin chào")
                page.locator("#cd-input").press("Enter")
                if works:  # Rasa is not running: the gateway's own apology proves the round trip
                    expect(page.locator(".cd-bot").last).to_contain_text("Xin lỗi Anh/Chị", timeout=15_000)
                else:
                    expect(page.get_by_role("alert")).to_contain_text("not sent")
                    expect(page.locator("#cd-input")).to_have_value("xin chào")
                assert watch.dialogs == []
            finally:
                context.close()


# Last: it spends most of this address's per-minute budget on the gateway.
def test_the_real_gateway_limit_reaches_the_widget(browser: Browser, warm: dict[str, object]) -> None:
    """20 messages a minute per conversation (the default): the 21st is refused politely."""
    context, page, _ = new_page(browser)
    try:
        page.goto(str(warm["base"]) + "/")
        wait_widget_ready(page)
        open_widget(page)
        send(page, "xin chào")
        session = page.evaluate("JSON.parse(sessionStorage.getItem('congdan.widget')).session")
        statuses = page.evaluate(
            """async (session) => {
                const out = [];
                for (let i = 0; i < 21; i++) {
                  const r = await fetch('/api/chat', {method: 'POST', headers: {'Content-Type': 'application/json'},
                    body: JSON.stringify({session, message: 'xin chào'})});
                  out.push(r.status);
                }
                return out;
            }""",
            session,
        )
        assert statuses == [200] * 20 + [429]
        page.locator("#cd-input").fill("còn gì nữa không")
        page.locator("#cd-input").press("Enter")
        expect(page.get_by_role("alert")).to_contain_text("Anh/Chị gửi nhanh quá")
        expect(page.locator("#cd-input")).to_have_value("còn gì nữa không")
    finally:
        context.close()
