"""Real processes on free loopback ports for the integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.settings import PROJECT_ROOT, Settings
from bot.supervisor import Child, children
from tests.conftest import free_port

MODEL = PROJECT_ROOT / "models" / "congdan.tar.gz"
START_TIMEOUT_S = 240


def stack_env(tmp_path: Path, index_root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONGDAN_")}
    env.update(
        CONGDAN_VAR_DIR=str(tmp_path / "var"),
        CONGDAN_INDEX_DIR=str(index_root),
        CONGDAN_PORT=str(free_port()),
        CONGDAN_RASA_PORT=str(free_port()),
        CONGDAN_ACTIONS_PORT=str(free_port()),
        CONGDAN_PORTAL_SIM_PORT=str(free_port()),
        CONGDAN_NOTIFIER_INTERVAL_S="1",  # dossier notifications show up quickly in tests
    )
    return env


def prepare(env: dict[str, str]) -> tuple[Settings, dict[str, Child]]:
    """Settings as the children will see them, the database migrated, and the children."""
    from knowledge.db import migrate

    old = dict(os.environ)
    os.environ.update(env)
    try:
        settings = Settings()
        migrate(settings.sqlalchemy_url)
        return settings, {c.name: c for c in children(settings)}
    finally:
        os.environ.clear()
        os.environ.update(old)


def start(child: Child, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        child.argv,
        cwd=PROJECT_ROOT,
        env={**env, **child.env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_ready(base: str, timeout_s: float = START_TIMEOUT_S) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/readyz", timeout=5)
            body = response.json()
            if response.status_code == 200:
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not ready after {timeout_s} s: {body}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, index_root: Path) -> Iterator[dict[str, object]]:
    assert MODEL.exists(), "no trained model: run `make model` (make test does it)"
    tmp = tmp_path_factory.mktemp("stack")
    env = stack_env(tmp, index_root)
    settings, procs = prepare(env)
    base = f"http://127.0.0.1:{settings.port}"
    running = {"gateway": start(procs["gateway"], env, tmp / "gateway.log")}
    # Only the gateway is up: not ready, and it says which parts are missing.
    deadline = time.monotonic() + 60
    first = None
    while first is None and time.monotonic() < deadline:
        try:
            first = httpx.get(f"{base}/readyz", timeout=5)
        except httpx.HTTPError:
            time.sleep(0.3)
    assert first is not None and first.status_code == 503
    assert {"rasa_model", "action_server"} <= set(first.json()["not_ready"])
    running["portal"] = start(procs["portal"], env, tmp / "portal.log")
    running["actions"] = start(procs["actions"], env, tmp / "actions.log")
    running["rasa"] = start(procs["rasa"], env, tmp / "rasa.log")
    try:
        wait_ready(base)
        yield {"base": base, "procs": running, "logs": tmp, "portal": settings.effective_portal_url}
    finally:
        for process in running.values():
            stop(process)


def chat(base: str, session: str | None, message: str) -> dict[str, object]:
    response = httpx.post(f"{base}/api/chat", json={"session": session, "message": message}, timeout=15)
    assert response.status_code == 200, response.text
    return response.json()


def texts(body: dict[str, object]) -> str:
    return "\n".join(m["text"] for m in body["messages"])  # type: ignore[index, union-attr]
