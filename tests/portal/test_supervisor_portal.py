"""`congdan run` starts the portal simulator only when no real portal is configured."""

from __future__ import annotations

import pytest

from bot.settings import PROJECT_ROOT, Settings
from bot.supervisor import children


@pytest.fixture
def model_dir(tmp_path):
    directory = tmp_path / "models"
    directory.mkdir()
    (directory / "congdan.tar.gz").write_bytes(b"")
    return directory


def test_simulator_is_started_without_a_portal_url(tmp_path, model_dir, monkeypatch) -> None:
    monkeypatch.delenv("CONGDAN_PORTAL_URL", raising=False)
    if not (PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa").exists():
        pytest.fail("the Rasa virtualenv is missing: run `make setup`")
    procs = {c.name: c for c in children(Settings(var_dir=tmp_path, model_dir=model_dir))}
    assert procs["portal"].argv[2:] == ["bot.cli", "portal-sim", "--host", "127.0.0.1"]


def test_no_simulator_when_a_portal_url_is_set(tmp_path, model_dir) -> None:
    settings = Settings(
        var_dir=tmp_path,
        model_dir=model_dir,
        portal_url="https://portal.example.gov.vn",
        portal_api_key="the-portal-s-real-key",  # the development key is refused for a real portal
    )
    assert "portal" not in {c.name for c in children(settings)}
