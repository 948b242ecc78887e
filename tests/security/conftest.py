"""A real gateway process (uvicorn, loopback, free port) with Rasa deliberately
unreachable: what a hostile client meets before any dialogue happens."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port
from tests.integration.conftest import stop


class Gateway:
    def __init__(self, base: str, port: int, var_dir: Path, log: Path) -> None:
        self.log = log
        self.base = base
        self.port = port
        self.var_dir = var_dir
        self.http = httpx.Client(base_url=base, timeout=10)


def gateway_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONGDAN_")}
    env.update(
        CONGDAN_VAR_DIR=str(tmp / "var"),
        CONGDAN_INDEX_DIR=str(tmp / "index"),  # no index: these tests never search
        CONGDAN_RASA_PORT=str(free_port()),
        CONGDAN_ACTIONS_PORT=str(free_port()),
        CONGDAN_PORTAL_SIM_PORT=str(free_port()),
        CONGDAN_NOTIFIER_ENABLED="false",
        **extra,
    )
    return env


def start_gateway(
    tmp: Path, access_log: bool = False, **extra: str
) -> tuple[Gateway, subprocess.Popen[bytes]]:
    port = free_port()
    env = gateway_env(tmp, CONGDAN_PORT=str(port), **extra)
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "migrate"], cwd=REPO, env=env, check=True, capture_output=True
    )
    log = tmp / "gateway.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "bot.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), *([] if access_log else ["--no-access-log"])],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    gateway = Gateway(f"http://127.0.0.1:{port}", port, tmp / "var", log)
    deadline = time.monotonic() + 60
    while True:
        try:
            if gateway.http.get("/healthz").status_code == 200:
                return gateway, process
        except httpx.HTTPError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "gateway did not start"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("gateway")
    started, process = start_gateway(tmp, CONGDAN_RATE_LIMIT_LOOKUP="3/hour")
    try:
        yield started
    finally:
        stop(process)
        started.http.close()


@pytest.fixture
def gateway_with(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Start a gateway with extra settings (stopped after the test)."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(access_log: bool = False, **extra: str) -> Gateway:
        folder = tmp_path / f"g{len(processes)}"
        folder.mkdir()
        started, process = start_gateway(folder, access_log, **extra)
        processes.append(process)
        return started

    yield start
    for process in processes:
        stop(process)
