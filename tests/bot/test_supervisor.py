"""The supervisor heals crashed children with backoff, gives up on one that keeps
crashing while the rest run, and leaves no process behind (SIGTERM or killed outright)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from bot.settings import PROJECT_ROOT, Settings
from bot.supervisor import Child, Supervisor

SUPERVISE = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from bot.settings import Settings
    from bot.supervisor import Child, Supervisor

    pid_file = Path(sys.argv[1])
    child = Child("sleeper", [sys.executable, "-c",
        "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)",
        str(pid_file)])
    # Port 9 (discard) never answers /readyz: the supervisor just keeps waiting.
    settings = Settings(var_dir=Path(sys.argv[2]), host="127.0.0.1", port=9)
    asyncio.run(Supervisor(settings, [child], ready_timeout_s=120).run())
    """
)


def _wait_for_pid(pid_file: Path, timeout_s: float = 20.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pid_file.exists() and pid_file.read_text():
            return int(pid_file.read_text())
        time.sleep(0.1)
    raise AssertionError("the child never started")


def _gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_children_stop_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISE, str(pid_file), str(tmp_path / "var")],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    child_pid = 0
    try:
        child_pid = _wait_for_pid(pid_file)
        assert psutil.pid_exists(child_pid)
        supervisor.send_signal(signal.SIGKILL)
        supervisor.wait(timeout=10)
        assert _gone(child_pid), "the child outlived its supervisor"
    finally:
        supervisor.kill()
        if child_pid and psutil.pid_exists(child_pid):
            os.kill(child_pid, signal.SIGKILL)


# A child that dies young the first N times (counted in a file), then stays up.
FLAKY = (
    "import os, sys, time\n"
    "count = sys.argv[1]; crashes = int(sys.argv[2])\n"
    "n = int(open(count).read()) if os.path.exists(count) else 0\n"
    "open(count, 'w').write(str(n + 1))\n"
    "if n < crashes: sys.exit(3)\n"
    "time.sleep(120)\n"
)
SLEEPER = "import time; time.sleep(120)"


def _settings(tmp_path: Path) -> Settings:
    # Port 9 (discard) never answers /readyz: the supervisor just keeps supervising.
    return Settings(var_dir=tmp_path / "var", host="127.0.0.1", port=9)


async def _until(predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def _alive(child: Child) -> bool:
    return child.process is not None and child.process.returncode is None


async def test_a_child_that_dies_is_restarted_with_growing_backoff_and_the_log_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    count = tmp_path / "starts"
    flaky = Child("rasa", [sys.executable, "-c", FLAKY, str(count), "3"])
    other = Child("gateway", [sys.executable, "-c", SLEEPER])
    supervisor = Supervisor(
        _settings(tmp_path), [flaky, other], ready_timeout_s=120, restart_first_s=0.1, restart_cap_s=0.2
    )
    run = asyncio.create_task(supervisor.run())
    try:
        await _until(lambda: count.exists() and count.read_text() == "4" and _alive(flaky))
        first_gateway_pid = other.process.pid if other.process else 0
        await asyncio.sleep(0.3)
        assert _alive(flaky) and _alive(other)
        assert other.process is not None and other.process.pid == first_gateway_pid  # untouched
    finally:
        supervisor._stopping.set()
        code = await asyncio.wait_for(run, 30)
    out = capsys.readouterr().out
    restarts = re.findall(
        r"rasa dừng bất ngờ \(mã thoát 3\).*khởi động lại sau ([\d.]+) s \(lần (\d)/8\)", out
    )
    # Exponential, capped: 0.1 s, 0.2 s, then the cap (0.2 s).
    assert restarts == [("0.1", "1"), ("0.2", "2"), ("0.2", "3")], out
    assert code == 0
    assert not _alive(flaky) and not _alive(other)


async def test_a_child_that_keeps_crashing_is_reported_and_the_others_keep_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = Child("actions", [sys.executable, "-c", "import sys; sys.exit(7)"])
    other = Child("gateway", [sys.executable, "-c", SLEEPER])
    supervisor = Supervisor(
        _settings(tmp_path), [broken, other], ready_timeout_s=120, restart_first_s=0.05, max_restarts=3
    )
    run = asyncio.create_task(supervisor.run())
    try:
        await _until(lambda: supervisor.given_up == ["actions"])
        await asyncio.sleep(0.3)
        assert _alive(other), "the healthy child was stopped with the broken one"
        assert not run.done()
    finally:
        supervisor._stopping.set()
        code = await asyncio.wait_for(run, 30)
    out = capsys.readouterr().out
    assert len(re.findall(r"actions dừng bất ngờ \(mã thoát 7\)", out)) == 3
    assert "actions dừng liên tục (4 lần liền, lần cuối mã thoát 7): ngừng khởi động lại" in out
    assert "Vẫn chạy: gateway." in out
    assert code == 1  # an operator must look at it


async def test_when_every_child_keeps_crashing_the_supervisor_stops_with_an_error(tmp_path: Path) -> None:
    broken = Child("actions", [sys.executable, "-c", "import sys; sys.exit(7)"])
    supervisor = Supervisor(_settings(tmp_path), [broken], restart_first_s=0.01, max_restarts=2)
    assert await asyncio.wait_for(supervisor.run(), 30) == 1


async def test_a_child_that_ran_stably_restarts_at_once_with_a_fresh_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pid_file = tmp_path / "pid"
    child = Child(
        "portal",
        [sys.executable, "-c", "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)",
         str(pid_file)],
    )  # fmt: skip
    supervisor = Supervisor(_settings(tmp_path), [child], ready_timeout_s=120, stable_s=0.5, max_restarts=1)
    run = asyncio.create_task(supervisor.run())
    try:
        for _ in range(3):  # more kills than max_restarts: each one after a stable run
            await _until(lambda: pid_file.exists() and pid_file.read_text() != "" and _alive(child))
            await asyncio.sleep(0.7)
            pid = int(pid_file.read_text())
            pid_file.write_text("")
            os.kill(pid, signal.SIGKILL)
        await _until(lambda: pid_file.read_text() != "" and _alive(child))
    finally:
        supervisor._stopping.set()
        await asyncio.wait_for(run, 30)
    out = capsys.readouterr().out
    assert out.count("portal dừng bất ngờ (mã thoát -9)") == 3
    assert "khởi động lại ngay" in out and supervisor.given_up == []


SUPERVISE_FLAKY = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from bot.settings import Settings
    from bot.supervisor import Child, Supervisor

    pid_file = Path(sys.argv[1])
    child = Child("sleeper", [sys.executable, "-c",
        "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()}\\\\n'); time.sleep(120)",
        str(pid_file)])
    settings = Settings(var_dir=Path(sys.argv[2]), host="127.0.0.1", port=9)
    sys.exit(asyncio.run(Supervisor(settings, [child], ready_timeout_s=120, restart_first_s=0.1).run()))
    """
)


def test_sigterm_stops_the_supervisor_and_every_child_even_after_a_restart(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pids"
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISE_FLAKY, str(pid_file), str(tmp_path / "var")],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    pids: list[int] = []
    try:
        first = _wait_for_pid(pid_file)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while len(pid_file.read_text().split()) < 2:
            assert time.monotonic() < deadline, "the killed child was not restarted"
            time.sleep(0.1)
        pids = [int(p) for p in pid_file.read_text().split()]
        assert psutil.pid_exists(pids[1])
        supervisor.send_signal(signal.SIGTERM)
        out, _ = supervisor.communicate(timeout=20)
        assert supervisor.returncode == 0
        assert _gone(pids[1]), "the restarted child outlived SIGTERM"
        assert "sleeper dừng bất ngờ (mã thoát -9)" in out.decode()
    finally:
        supervisor.kill()
        for pid in pids:
            if psutil.pid_exists(pid):
                os.kill(pid, signal.SIGKILL)
