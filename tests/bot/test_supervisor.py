"""The supervisor leaves no process behind, even when it is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from bot.settings import PROJECT_ROOT

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
