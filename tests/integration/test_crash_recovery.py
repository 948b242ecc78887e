"""Crashes heal: the real stack started by `congdan run` on free loopback ports; Rasa,
then the action server, killed with SIGKILL mid-conversation. During the gap the citizen
gets the polite "busy" answer; the supervisor starts the process again; once /readyz is
200 the conversation goes on from the tracker store (the fee of the procedure chosen
before the crash). The time from the kill to ready again is printed and written to
var/bench/crash_recovery.json. /metrics, after those turns, exposes every named family,
and the turn's request id shows in the action server's JSON log lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from bot.settings import PROJECT_ROOT
from tests.integration.conftest import START_TIMEOUT_S, chat, stack_env, texts

pytestmark = pytest.mark.integration
RECOVERY_TIMEOUT_S = 240
BUSY = "hệ thống đang bận"
RESULTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, index_root: Path) -> Iterator[dict[str, object]]:
    tmp = tmp_path_factory.mktemp("healing")
    env = stack_env(tmp, index_root)
    env.update(CONGDAN_LOG_JSON="true", CONGDAN_RASA_TIMEOUT_S="15")  # a loaded 2-core machine
    log = tmp / "congdan-run.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['CONGDAN_PORT']}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while f"Mở {base}/" not in log.read_text(errors="replace"):
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        yield {"base": base, "supervisor": process, "log": log}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        bench = PROJECT_ROOT / "var" / "bench"
        bench.mkdir(parents=True, exist_ok=True)
        (bench / "crash_recovery.json").write_text(json.dumps(RESULTS, indent=1))


def _child(supervisor: subprocess.Popen[bytes], marker: str) -> psutil.Process:
    for child in psutil.Process(supervisor.pid).children():
        if marker in " ".join(child.cmdline()):
            return child
    raise AssertionError(f"no child running {marker!r}")


def _kill_and_heal(stack: dict[str, object], marker: str, session: str, question: str) -> float:
    """SIGKILL the child; the citizen's question during the gap gets the polite answer;
    returns the seconds from the kill until /readyz is 200 again."""
    base = str(stack["base"])
    supervisor = stack["supervisor"]
    assert isinstance(supervisor, subprocess.Popen)
    victim = _child(supervisor, marker)
    killed_at = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    during = chat(base, session, question)
    assert BUSY in texts(during) and "1900 1234" in texts(during), texts(during)
    while True:
        assert time.monotonic() - killed_at < RECOVERY_TIMEOUT_S, "not ready again"
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    healed_s = time.monotonic() - killed_at
    assert _child(supervisor, marker).pid != victim.pid
    return healed_s


def _choose(base: str, procedure_id: str, name: str) -> str:
    first = chat(base, None, "mất căn cước thì làm lại thế nào")
    session = str(first["session"])
    chosen = chat(base, session, f'/choose_procedure{{"procedure_id": "{procedure_id}"}}')
    assert name in texts(chosen), texts(chosen)
    return session


def test_rasa_killed_mid_conversation_comes_back_and_the_conversation_goes_on(
    stack: dict[str, object],
) -> None:
    base = str(stack["base"])
    session = _choose(base, "cancuoc.cap-lai", "Cấp lại thẻ căn cước")
    RESULTS["rasa_ready_again_s"] = round(_kill_and_heal(stack, "rasa", session, "lệ phí bao nhiêu"), 1)
    print(f"\nRasa SIGKILLed → ready again in {RESULTS['rasa_ready_again_s']} s")
    after = chat(base, session, "lệ phí bao nhiêu")
    assert 'Lệ phí "Cấp lại thẻ căn cước"' in texts(after), texts(after)
    log = Path(str(stack["log"])).read_text(errors="replace")
    assert "rasa dừng bất ngờ (mã thoát -9)" in log and "khởi động lại" in log


def test_the_action_server_killed_mid_conversation_comes_back_and_the_conversation_goes_on(
    stack: dict[str, object],
) -> None:
    base = str(stack["base"])
    session = _choose(base, "cancuoc.cap-doi", "Cấp đổi thẻ căn cước")
    RESULTS["actions_ready_again_s"] = round(
        _kill_and_heal(stack, "actions.server", session, "lệ phí bao nhiêu"), 1
    )
    print(f"\naction server SIGKILLed → ready again in {RESULTS['actions_ready_again_s']} s")
    after = chat(base, session, "lệ phí bao nhiêu")
    assert 'Lệ phí "Cấp đổi thẻ căn cước"' in texts(after), texts(after)
    log = Path(str(stack["log"])).read_text(errors="replace")
    assert "actions dừng bất ngờ (mã thoát -9)" in log


def test_metrics_name_every_family_and_the_request_id_follows_the_turn(stack: dict[str, object]) -> None:
    base = str(stack["base"])
    session = _choose(base, "cancuoc.cap-the", "Cấp thẻ căn cước")
    response = httpx.post(
        f"{base}/api/chat",
        json={"session": session, "message": "lệ phí bao nhiêu"},
        headers={"X-Request-ID": "crash-test-0001"},
        timeout=20,
    )
    assert response.headers["x-request-id"] == "crash-test-0001"
    metrics = httpx.get(f"{base}/metrics", timeout=10)
    assert metrics.status_code == 200
    for family in (
        "congdan_http_request_duration_seconds_bucket{",
        'congdan_turns_total{channel="web",decision="answered"}',
        'congdan_rasa_request_duration_seconds_count{outcome="ok"}',
        "congdan_portal_breaker{",
        "congdan_outbox_backlog ",
        "congdan_index_info{",
        'congdan_action_duration_seconds_count{action="action_answer_aspect"',
    ):
        assert family in metrics.text, family
    deadline = time.monotonic() + 10
    lines: list[dict[str, object]] = []
    while time.monotonic() < deadline and not lines:
        for line in Path(str(stack["log"])).read_text(errors="replace").splitlines():
            name, _, rest = line.partition(" | ")
            if rest.startswith("{") and '"crash-test-0001"' in rest:
                lines.append({"process": name.strip(), **json.loads(rest)})
        time.sleep(0.5)
    processes = {line["process"] for line in lines}
    assert {"gateway", "actions"} <= processes, lines
