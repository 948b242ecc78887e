"""`congdan run`: start every process, wait until ready, stream prefixed logs, heal
crashes, stop all.

A child that dies is started again after an exponential backoff (tenacity's
``wait_exponential``: 1 s, 2 s, 4 s … capped at 30 s), and the log says so. A child
that ran for ``stable_s`` before dying starts again at once with a fresh count; one
that dies young ``max_restarts`` times in a row is reported and left down while the
others keep running (when every child has given up, the supervisor stops, exit 1).

Children run in their own process groups; on Ctrl-C / SIGTERM every group gets SIGTERM
and, after a grace period, SIGKILL: no orphans (a dead child's group is SIGKILLed
before it restarts, so a leftover grandchild cannot hold its port). If the supervisor
itself is killed outright, the kernel sends each child SIGTERM (Linux's parent-death
signal). Each log line passes through the PII mask before it is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from bot.logs import mask_pii, server_log_config
from bot.rasa_config import write_endpoints
from bot.settings import PROJECT_ROOT, Settings

GRACE_S = 10.0
RESTART_FIRST_S = 1.0  # first backoff; it doubles on each quick crash …
RESTART_CAP_S = 30.0  # … up to this
MAX_RESTARTS = 8  # quick crashes in a row before a child is given up (≈ 2 min of tries)
STABLE_S = 60.0  # a child that lived this long starts again at once, with a fresh count
COLORS = {"gateway": 36, "rasa": 35, "actions": 33, "portal": 32}


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None


class StartupError(RuntimeError):
    pass


class ChildCrashed(RuntimeError):
    """A child died young (before ``stable_s``) while the supervisor was not stopping."""

    def __init__(self, name: str, code: int, uptime_s: float) -> None:
        super().__init__(f"{name} dừng bất ngờ (mã thoát {code}) sau {uptime_s:.1f} s")
        self.name = name
        self.code = code


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


def write_log_config(settings: Settings) -> Path:
    """The logging document the gateway's uvicorn loads (``--log-config``): the same masked
    lines, JSON with the request id when ``CONGDAN_LOG_JSON``, uvicorn's access log included.
    (Rasa replaces its root handlers with coloredlogs after reading any such file, so its
    lines keep Rasa's format; the request id is stored with the user event instead.)"""
    path = settings.var_dir / "run" / "logging.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(server_log_config(settings.log_level, settings.log_json), indent=1))
    return path


def children(settings: Settings) -> list[Child]:
    endpoints_path, secrets = write_endpoints(settings)
    log_config = str(write_log_config(settings))
    python = sys.executable
    procs = [
        Child("actions", [python, "-m", "actions.server"]),
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
                "--log-config", log_config, "--timeout-graceful-shutdown", "5",
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
    def __init__(
        self,
        settings: Settings,
        procs: list[Child],
        ready_timeout_s: float = 600.0,
        *,
        restart_first_s: float = RESTART_FIRST_S,
        restart_cap_s: float = RESTART_CAP_S,
        max_restarts: int = MAX_RESTARTS,
        stable_s: float = STABLE_S,
    ) -> None:
        self.settings = settings
        self.procs = procs
        self.ready_timeout_s = ready_timeout_s
        self.restart_first_s = restart_first_s
        self.restart_cap_s = restart_cap_s
        self.max_restarts = max_restarts
        self.stable_s = stable_s
        self.given_up: list[str] = []
        self._stopping = asyncio.Event()
        self._failed: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._keepers: list[asyncio.Task[None]] = []

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
        task = asyncio.create_task(self._pump(child, child.process.stdout))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _kill_group(child: Child) -> None:
        """SIGKILL what is left of a dead child's process group (a grandchild holding its port)."""
        if child.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)

    async def _run_once(self, child: Child) -> None:
        """Start the child and wait until it exits. Raises ``ChildCrashed`` when it died
        young; returns when the supervisor is stopping or the child had run stably."""
        if self._stopping.is_set():
            return
        started = time.monotonic()
        await self._start(child)
        assert child.process is not None
        if self._stopping.is_set():  # stop() came while the process was being created
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGTERM)
        code = await child.process.wait()
        if self._stopping.is_set():
            return
        self._kill_group(child)
        uptime = time.monotonic() - started
        if uptime < self.stable_s:
            raise ChildCrashed(child.name, code, uptime)
        self._print(
            "congdan", f"{child.name} dừng bất ngờ (mã thoát {code}) sau {uptime:.0f} s; khởi động lại ngay"
        )

    async def _pause(self, seconds: float) -> None:
        """tenacity's sleep between restarts; cut short when the supervisor stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _announce_restart(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        self._print(
            "congdan",
            f"{error}; khởi động lại sau {delay:.1f} s (lần {state.attempt_number}/{self.max_restarts})",
        )

    async def _keep_alive(self, child: Child) -> None:
        """Run the child until the supervisor stops, restarting it with backoff."""
        while not self._stopping.is_set():
            retrying = AsyncRetrying(
                retry=retry_if_exception_type(ChildCrashed),
                wait=wait_exponential(multiplier=self.restart_first_s, max=self.restart_cap_s),
                stop=stop_after_attempt(self.max_restarts + 1),
                before_sleep=self._announce_restart,
                sleep=self._pause,
                reraise=True,
            )
            try:
                async for attempt in retrying:
                    with attempt:
                        await self._run_once(child)
            except ChildCrashed as crash:
                self._give_up(child, crash)
                return

    def _give_up(self, child: Child, crash: ChildCrashed) -> None:
        self.given_up.append(child.name)
        alive = [c.name for c in self.procs if c.name not in self.given_up]
        self._print(
            "congdan",
            f"{child.name} dừng liên tục ({self.max_restarts + 1} lần liền, lần cuối mã thoát "
            f"{crash.code}): ngừng khởi động lại, cần người kiểm tra (xem log ở trên). "
            + (f"Vẫn chạy: {', '.join(alive)}." if alive else "Không còn tiến trình nào chạy."),
        )
        if not alive:
            self._failed = "mọi tiến trình đều dừng liên tục"
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

    def _running(self) -> list[asyncio.subprocess.Process]:
        return [c.process for c in self.procs if c.process and c.process.returncode is None]

    async def stop(self) -> None:
        self._stopping.set()
        self._signal_all(signal.SIGTERM)
        waits = [process.wait() for process in self._running()]
        if waits:
            try:
                await asyncio.wait_for(asyncio.gather(*waits), GRACE_S)
            except TimeoutError:
                self._signal_all(signal.SIGKILL)
                await asyncio.gather(*[process.wait() for process in self._running()])
        if self._keepers:
            await asyncio.gather(*self._keepers, return_exceptions=True)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stopping.set)
        started = time.monotonic()
        try:
            for child in self.procs:
                self._keepers.append(asyncio.create_task(self._keep_alive(child), name=f"keep-{child.name}"))
                await asyncio.sleep(0)  # start in the listed order
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
        return 1 if self._failed or self.given_up else 0
