"""Foundation benchmark: setup and training time (recorded by `make setup` / `make model`),
time to ready of `congdan run` (cold: empty var/, warm: second start), chat turn latency
over 200 sequential turns through POST /api/chat, and resident memory of each process.
Writes var/bench/foundation.json. Traffic goes to 127.0.0.1 only."""

from __future__ import annotations

import collections
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.settings import PROJECT_ROOT
from tests.benchmarks.common import BENCH_DIR, percentiles, read_json, write
from tests.conftest import free_port

TURNS = 200
CONVERSATION = [
    "xin chào",
    "mất căn cước thì làm lại thế nào",
    "còn lệ phí thì sao?",
    "cần mang gì",
    "dang ky tam tru cho con",
    "mất mấy ngày",
    "cảm ơn",
]
NAMES = {"gateway": "uvicorn", "rasa": "rasa run", "actions": "actions.server"}


def start(env: dict[str, str]) -> tuple[subprocess.Popen[str], float]:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "Sẵn sàng sau" in line:
            ready_s = time.monotonic() - started
            # Keep reading the logs: a full pipe would block the supervisor and its children.
            threading.Thread(target=collections.deque, args=(process.stdout, 0), daemon=True).start()
            return process, ready_s
        if process.poll() is not None:
            break
    raise SystemExit(f"congdan run did not become ready (exit {process.poll()})")


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def memory(process: subprocess.Popen[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for child in psutil.Process(process.pid).children(recursive=True):
        cmdline = " ".join(child.cmdline())
        for name, marker in NAMES.items():
            if marker in cmdline:
                out[name] = round(out.get(name, 0.0) + child.memory_info().rss / 2**20, 1)
    return out


def chat_latency(base: str) -> dict[str, float]:
    latencies = []
    session = None
    with httpx.Client(timeout=10) as client:
        for turn, message in zip(range(TURNS), itertools.cycle(CONVERSATION), strict=False):
            if turn % len(CONVERSATION) == 0:
                session = None
            started = time.perf_counter()
            response = client.post(f"{base}/api/chat", json={"session": session, "message": message})
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            session = response.json()["session"]
    return percentiles(latencies)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONGDAN_")}
        env.update(
            CONGDAN_VAR_DIR=str(Path(tmp) / "var"),
            CONGDAN_PORT=str(port),
            CONGDAN_RASA_PORT=str(free_port()),
            CONGDAN_ACTIONS_PORT=str(free_port()),
            CONGDAN_PORTAL_SIM_PORT=str(free_port()),
            CONGDAN_RATE_LIMIT_IP="100000/minute",  # 400 sequential turns from one address
            CONGDAN_RATE_LIMIT_SESSION="100000/minute",
        )
        cold, cold_s = start(env)  # empty database and no index: seed + index build included
        stop(cold)
        warm, warm_s = start(env)
        try:
            base = f"http://127.0.0.1:{port}"
            chat_latency(base)  # warm-up pass, not counted
            latency = chat_latency(base)
            rss = memory(warm)
        finally:
            stop(warm)
    setup = {**read_json(BENCH_DIR / "setup_app.json"), **read_json(BENCH_DIR / "setup_rasa.json")}
    write(
        "foundation",
        {
            "setup_s": setup or "not recorded (venvs were installed before `make setup` recorded times)",
            "train_s": read_json(BENCH_DIR / "train.json").get("train_s"),
            "time_to_ready_s": {"cold_first_start": round(cold_s, 1), "warm_second_start": round(warm_s, 1)},
            "chat_turn_ms": latency,
            "rss_mb": rss,
        },
    )


if __name__ == "__main__":
    main()
