"""Issue 15, careless deployer: short secrets refused, the generated key file private and
written once even when several processes start together, the development portal key
never sent to a real portal, the simulator's fault injection only on loopback."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.portal.simulator import create_app as simulator_app
from bot.portal.simulator import seed_dossiers
from bot.sessions import load_or_create_secret
from bot.settings import SettingsError, load_settings


@pytest.mark.parametrize("secret", ["", "short", "x" * 31, "é" * 15])  # "é" is 2 bytes: 30 bytes
def test_a_session_secret_under_32_bytes_is_refused_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("CONGDAN_SESSION_SECRET", secret)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "CONGDAN_SESSION_SECRET" in str(error.value) and "32 byte" in str(error.value)


def test_a_32_byte_secret_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONGDAN_SESSION_SECRET", "k" * 32)
    assert load_settings().session_secret is not None


def _load(var_dir: str, out: multiprocessing.Queue[str]) -> None:
    out.put(load_or_create_secret(None, Path(var_dir)))


def test_the_generated_key_is_private_and_the_same_for_processes_starting_together(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = context.Queue()
    workers = [context.Process(target=_load, args=(str(tmp_path / "var"), queue)) for _ in range(8)]
    for worker in workers:
        worker.start()
    keys = {queue.get(timeout=20) for _ in workers}
    for worker in workers:
        worker.join(10)
    assert len(keys) == 1 and len(next(iter(keys)).encode()) >= 32
    key_file = tmp_path / "var" / "session.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["session.key"]  # no temporary left over
    assert load_or_create_secret(None, tmp_path / "var") == next(iter(keys))


def test_an_empty_key_file_is_refused_not_used(tmp_path: Path) -> None:
    (tmp_path / "session.key").write_text("")
    with pytest.raises(RuntimeError, match="32 byte"):
        load_or_create_secret(None, tmp_path)


def test_the_development_portal_key_is_refused_for_a_real_portal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONGDAN_PORTAL_API_KEY", raising=False)
    monkeypatch.setenv("CONGDAN_PORTAL_URL", "https://api.dichvucong.example.gov.vn")
    with pytest.raises(SettingsError, match="dev-portal-key"):
        load_settings()
    monkeypatch.setenv("CONGDAN_PORTAL_API_KEY", "a-real-key-from-the-portal")
    assert load_settings().portal_url == "https://api.dichvucong.example.gov.vn"


def test_the_development_key_is_fine_for_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONGDAN_PORTAL_API_KEY", raising=False)
    monkeypatch.delenv("CONGDAN_PORTAL_URL", raising=False)
    assert load_settings().portal_url is None
    monkeypatch.setenv("CONGDAN_PORTAL_URL", "http://127.0.0.1:8090")
    assert load_settings().portal_url == "http://127.0.0.1:8090"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/_admin/faults"),
        ("DELETE", "/_admin/faults"),
        ("GET", "/_admin/stats"),
        ("GET", "/_admin/dossiers"),
        ("POST", "/_admin/dossiers/000.00.04.H51-200221-0001/status"),
    ],
)
def test_the_simulator_admin_routes_answer_only_loopback_clients(method: str, path: str) -> None:
    app = simulator_app("k")
    headers = {"X-API-Key": "k"}
    with TestClient(app, client=("203.0.113.7", 50000)) as remote:
        assert remote.request(method, path, headers=headers, json={"status": 4}).status_code == 404
        code = seed_dossiers()[0].code
        assert remote.get(f"/api/v1/dossiers/{code}", headers=headers).status_code == 200  # the API serves
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        assert local.get("/_admin/stats", headers=headers).status_code == 200
