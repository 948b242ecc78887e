"""The portal simulator as a real process (`congdan portal-sim`) on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.portal.client import HttpPortalClient
from tests.conftest import REPO, free_port
from tests.integration.conftest import stop

API_KEY = "test-portal-key"


class Sim:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, headers={"X-API-Key": API_KEY}, timeout=10)

    def faults(self, **faults: object) -> None:
        self.http.post("/_admin/faults", json=faults).raise_for_status()

    def clear(self) -> None:
        self.http.delete("/_admin/faults").raise_for_status()

    def served(self) -> int:
        return int(self.http.get("/_admin/stats").json()["served"])

    def dossiers(self) -> list[dict[str, object]]:
        return list(self.http.get("/_admin/dossiers").json())

    def set_status(self, code: str, status: int) -> None:
        self.http.post(f"/_admin/dossiers/{code}/status", json={"status": status}).raise_for_status()


def sim_env(port: int, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONGDAN_")}
    env.update(CONGDAN_PORTAL_SIM_PORT=str(port), CONGDAN_PORTAL_API_KEY=API_KEY, CONGDAN_VAR_DIR=str(tmp))
    return env


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    port = free_port()
    tmp = tmp_path_factory.mktemp("portal-sim")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "portal-sim", "--port", str(port)],
        cwd=REPO,
        env=sim_env(port, tmp),
        stdout=(tmp / "sim.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    sim = Sim(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while True:
        try:
            if sim.http.get("/_admin/stats").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert process.poll() is None, (tmp / "sim.log").read_text()
        assert time.monotonic() < deadline, "simulator did not start"
        time.sleep(0.2)
    try:
        yield sim
    finally:
        stop(process)
        sim.http.close()


@pytest.fixture
def sim(simulator: Sim) -> Iterator[Sim]:
    simulator.clear()
    yield simulator
    simulator.clear()


def make_client(base: str, **options: object) -> HttpPortalClient:
    defaults: dict[str, object] = {
        "deadline_s": 3.0,
        "attempts": 3,
        "backoff_s": 0.01,
        "backoff_max_s": 0.05,
        "breaker_threshold": 50,
        "breaker_reset_s": 30.0,
    }
    defaults.update(options)
    return HttpPortalClient(base, str(defaults.pop("api_key", API_KEY)), **defaults)  # type: ignore[arg-type]
