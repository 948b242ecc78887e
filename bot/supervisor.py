"""`congdan run`: start every process, wait until ready, stream prefixed logs, stop all.

Children run in their own process groups; when one dies, or on Ctrl-C / SIGTERM,
every group gets SIGTERM and, after a grace period, SIGKILL: no orphans. If the
supervisor itself is killed outright, the kernel sends each child SIGTERM (Linux's
parent-death signal). Each log line passes through the PII mask before it is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.logs import mask_pii
from bot.rasa_config import write_endpoints
from bot.settings import PROJECT_ROOT, Settings

GRACE_S = 10.0
COLORS = {"gateway": 36, "rasa": 35, "actions": 33, "portal": 32}


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None


class StartupError(RuntimeError):
    pass


def rasa_executable(settings: Settings) -> Path:
    path = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
    if not path.exists():
        raise StartupError(f"không thấy {path}: chạy `make setup` trước")
    return path


def latest_model(settings: Settings) -> Path:
    models = sorted(settings.model_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise StartupError(
            f"chưa có mô hình Rasa trong {settings.model_dir}: chạy `make model` (hoặc `make run`)"
        )
    return models[-1]


def children(settings: Settings) -> list[Child]:
    endpoints_path, secrets = write_endpoints(settings)
    python = sys.executable
    procs = [
        Child("actions", [python, "-m", "bot.action_server"]),
        Child(
            "rasa",
            [
                str(rasa_executable(settings)), "run",
                "--model", str(latest_model(settings)),
                "--endpoints", str(endpoints_path),
                "--credentials", str(PROJECT_ROOT / "credentials.yml"),
                "--interface", "127.0.0.1",
                "--port", str(settings.rasa_port),
                "--response-timeout", "30",
            ],
            env={
                **secrets,
                "PYTHONPATH": str(PROJECT_ROOT),
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "RASA_TELEMETRY_ENABLED": "false",
                "TF_INTER_OP_PARALLELISM_THREADS": "1",
                "TF_INTRA_OP_PARALLELISM_THREADS": "1",
            },
        ),
        Child(
            "gateway",
            [
                python, "-m", "uvicorn", "--factory", "bot.app:create_app",
                "--host", settings.host, "--port", str(settings.port),
                "--no-access-log", "--timeout-graceful-shutdown", "5",
            ],
        ),
    ]  # fmt: skip
    if not settings.portal_url:  # no real portal configured: serve the simulator
        procs.insert(0, Child("portal", [python, "-m", "bot.cli", "portal-sim", "--host", "127.0.0.1"]))
    return procs


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a hook that asks the kernel to SIGTERM the child when the supervisor
    dies, even by SIGKILL: each child leads its own process group, so nothing else would
    stop it. ``None`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # the running process, libc included
    prctl = libc.prctl

    def hook() -> None:  # runs in the child between fork and exec: no locks, no allocation
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


class Supervisor:
    def __init__(self, settings: Settings, procs: list[Child], ready_timeout_s: float = 600.0) -> None:
        self.settings = settings
        self.procs = procs
        self.ready_timeout_s = ready_timeout_s
        self._stopping = asyncio.Event()
        self._failed: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _print(self, name: str, line: str) -> None:
        color = COLORS.get(name, 37)
        prefix = f"\x1b[{color}m{name:>8} |\x1b[0m " if sys.stdout.isatty() else f"{name:>8} | "
        print(prefix + mask_pii(line), flush=True)

    async def _pump(self, child: Child, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while True:
            raw = await stream.readline()
            if not raw:
                return
            self._print(child.name, raw.decode("utf-8", "replace").rstrip())

    async def _start(self, child: Child) -> None:
        env = {**os.environ, **child.env, "PYTHONUNBUFFERED": "1"}
        child.process = await asyncio.create_subprocess_exec(
            *child.argv,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        for coroutine in (self._pump(child, child.process.stdout), self._watch(child)):
            task = asyncio.create_task(coroutine)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _watch(self, child: Child) -> None:
        assert child.process is not None
        code = await child.process.wait()
        if not self._stopping.is_set():
            self._failed = f"{child.name} dừng bất ngờ (mã thoát {code})"
            self._print("congdan", self._failed)
            self._stopping.set()

    async def _wait_ready(self) -> bool:
        url = f"http://{self.settings.host}:{self.settings.port}/readyz"
        deadline = time.monotonic() + self.ready_timeout_s
        async with httpx.AsyncClient(timeout=3.0) as client:
            while time.monotonic() < deadline and not self._stopping.is_set():
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        return True
                await asyncio.sleep(0.5)
        return False

    def _signal_all(self, sig: int) -> None:
        for child in self.procs:
            if child.process and child.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, sig)

    async def stop(self) -> None:
        self._stopping.set()
        self._signal_all(signal.SIGTERM)
        waits = [c.process.wait() for c in self.procs if c.process and c.process.returncode is None]
        if waits:
            try:
                await asyncio.wait_for(asyncio.gather(*waits), GRACE_S)
            except TimeoutError:
                self._signal_all(signal.SIGKILL)
                await asyncio.gather(*[c.process.wait() for c in self.procs if c.process])

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stopping.set)
        started = time.monotonic()
        try:
            for child in self.procs:
                await self._start(child)
            if await self._wait_ready():
                self._print(
                    "congdan",
                    f"Sẵn sàng sau {time.monotonic() - started:.1f} s. Mở {self.settings.gateway_url}/ "
                    f"(bảng điều khiển cán bộ: {self.settings.gateway_url}/admin). Ctrl-C để dừng.",
                )
            elif not self._stopping.is_set():
                self._failed = (
                    f"chưa sẵn sàng sau {self.ready_timeout_s:.0f} s (xem {self.settings.gateway_url}/readyz)"
                )
                self._print("congdan", self._failed)
                self._stopping.set()
            await self._stopping.wait()
        finally:
            await self.stop()
        return 1 if self._failed else 0
