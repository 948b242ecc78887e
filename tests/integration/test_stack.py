"""The real processes on free loopback ports: gateway, Rasa (trained model from
`make model`), action server. Holds a conversation through POST /api/chat, watches
/readyz go 503 → 200, then kills Rasa and expects a polite apology within 3 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.settings import PROJECT_ROOT
from tests.integration.conftest import START_TIMEOUT_S, chat, stack_env, texts

pytestmark = pytest.mark.integration


def test_greetings_with_and_without_diacritics(stack: dict[str, object]) -> None:
    base = str(stack["base"])
    for greeting in ("xin chào", "xin chao"):
        body = chat(base, None, greeting)
        assert "Xin chào Anh/Chị" in texts(body), greeting


def test_a_multi_turn_conversation_through_the_gateway(stack: dict[str, object]) -> None:
    base = str(stack["base"])
    body = chat(base, None, "mất căn cước thì làm lại thế nào")
    session = str(body["session"])
    assert "Cấp lại thẻ căn cước" in texts(body)
    first = body["messages"][0]  # type: ignore[index]
    assert [b["title"] for b in first["buttons"]][:2] == ["Hồ sơ cần gì", "Lệ phí"]
    assert first["links"] and first["links"][0]["url"].startswith("https://")

    fee = chat(base, session, "còn lệ phí thì sao?")
    assert fee["session"] == session
    assert "Lệ phí" in texts(fee) and "căn cước" in texts(fee)

    thanks = chat(base, session, '/feedback{"rating": "up"}')
    assert "Cảm ơn Anh/Chị đã góp ý" in texts(thanks)

    handoff = chat(base, session, "cho tôi gặp cán bộ")
    assert "HT-" in texts(handoff) and "1900" in texts(handoff)


def test_killing_rasa_gives_an_apology_within_3_s_and_readyz_503(stack: dict[str, object]) -> None:
    base = str(stack["base"])
    rasa = stack["procs"]["rasa"]  # type: ignore[index]
    os.killpg(rasa.pid, signal.SIGKILL)
    rasa.wait()
    started = time.monotonic()
    body = chat(base, None, "đăng ký tạm trú")
    assert time.monotonic() - started < 3.0
    assert "Xin lỗi" in texts(body)
    ready = httpx.get(f"{base}/readyz", timeout=5)
    assert ready.status_code == 503 and "rasa_model" in ready.json()["not_ready"]


def test_congdan_run_starts_everything_prints_the_url_and_stops_cleanly(
    tmp_path: Path, index_root: Path
) -> None:
    """What `make run` calls: ready, URL printed, Ctrl-C stops every child, no orphans."""
    import psutil

    env = stack_env(tmp_path, index_root)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{env['CONGDAN_PORT']}"
    lines: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    assert process.stdout is not None
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if f"Mở {url}/" in line:
                break
        assert any(f"Mở {url}/" in line for line in lines), "".join(lines[-30:])
        assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200
        descendants = psutil.Process(process.pid).children(recursive=True)
        assert len(descendants) >= 3
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        time.sleep(0.5)
        assert not [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
