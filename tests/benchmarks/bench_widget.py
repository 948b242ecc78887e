"""Widget benchmark: bytes on the wire (widget.js + widget.css, gzipped as a gzip-serving
proxy would send them) and the time from navigation start to "widget ready" (stylesheet
loaded, launcher shown) on the demo page in headless chromium, median of several cold loads
(a new browser context each time, so nothing is cached). Only the gateway is started, on a
free loopback port; Rasa is not needed for the widget to load. Writes var/bench/widget.json."""

from __future__ import annotations

import gzip
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import sync_playwright

from tests.benchmarks.common import percentiles, write
from tests.integration.browser import launch, lone_gateway, wait_widget_ready

LOADS = 15
READY_AT = "document.addEventListener('congdan:ready', () => { window.__readyAt = performance.now(); });"


def transfer_sizes(base: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for name, path in (("widget.js", "/widget.js"), ("widget.css", "/static/widget.css")):
        body = httpx.get(base + path, timeout=10).content
        sizes[f"{name}_bytes"] = len(body)
        sizes[f"{name}_gzip_bytes"] = len(gzip.compress(body, 6))
    sizes["total_gzip_bytes"] = sizes["widget.js_gzip_bytes"] + sizes["widget.css_gzip_bytes"]
    return sizes


def ready_times(base: str) -> list[float]:
    times = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            for _ in range(LOADS + 1):
                context = browser.new_context()
                page = context.new_page()
                page.add_init_script(READY_AT)
                page.goto(base + "/")
                wait_widget_ready(page)
                page.wait_for_function("window.__readyAt !== undefined")
                times.append(float(page.evaluate("window.__readyAt")))
                context.close()
        finally:
            browser.close()
    return times[1:]  # the first load warms the browser process itself


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, lone_gateway(Path(tmp) / "var") as base:
        sizes = transfer_sizes(base)
        times = ready_times(base)
    write(
        "widget",
        {
            "transfer": {**sizes, "budget_gzip_bytes": 25 * 1024},
            "ready_ms": {**percentiles(times), "median": round(statistics.median(times), 2)},
            "loads": len(times),
            "browser": "Debian chromium, headless, loopback gateway, cold context per load",
        },
    )


if __name__ == "__main__":
    main()
