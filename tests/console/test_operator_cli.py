"""`congdan operator add|remove` as an administrator runs them: a real subprocess with its
own var/ directory; the accounts then sign in (or not) through the real app."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from bot.app import create_app
from bot.console import audit
from bot.settings import Settings
from knowledge.db import create_db_engine
from tests.bot.test_cli import congdan
from tests.console.helpers import login


def test_add_with_password_stdin_roles_reset_and_remove(tmp_path: Path, console_settings: Settings) -> None:
    env = {"CONGDAN_VAR_DIR": str(console_settings.var_dir), "CONGDAN_INDEX_DIR": str(tmp_path / "index")}
    added = congdan(
        ["operator", "add", "truongphong", "--role", "admin", "--password-stdin"],
        env,
        "mat-khau-truong-phong\n",
    )
    assert added.returncode == 0, added.stderr
    assert "Đã tạo tài khoản cán bộ truongphong" in added.stdout
    editor = congdan(["operator", "add", "nhanvien", "--password-stdin"], env, "mat-khau-nhan-vien\n")
    assert editor.returncode == 0, editor.stderr

    with TestClient(create_app(console_settings)) as client:
        assert login(client, "truongphong", "mat-khau-truong-phong").status_code == 303
        assert client.get("/api/admin/session").json()["role"] == "admin"
        assert client.get("/api/admin/audit").status_code == 200
        client.cookies.clear()
        assert login(client, "nhanvien", "mat-khau-nhan-vien").status_code == 303
        assert client.get("/api/admin/session").json()["role"] == "editor"

        # A reset (no --role: the role stays) ends the session at once.
        reset = congdan(["operator", "add", "nhanvien", "--password-stdin"], env, "mat-khau-moi-cua-nv\n")
        assert reset.returncode == 0 and "Đã cập nhật" in reset.stdout
        assert client.get("/api/admin/session").status_code == 401
        assert login(client, "nhanvien", "mat-khau-moi-cua-nv").status_code == 303
        assert client.get("/api/admin/session").json()["role"] == "editor"

        removed = congdan(["operator", "remove", "nhanvien"], env)
        assert removed.returncode == 0 and "Đã xoá" in removed.stdout
        assert client.get("/api/admin/session").status_code == 401

    engine = create_db_engine(console_settings.sqlalchemy_url)
    actions = [(e["actor"], e["action"], e["target"]) for e in audit.entries(engine, action="operator")]
    engine.dispose()
    assert actions == [
        ("cli", "operator.remove", "nhanvien"),
        ("cli", "operator.reset", "nhanvien"),
        ("cli", "operator.add", "nhanvien"),
        ("cli", "operator.add", "truongphong"),
    ]


def test_bad_input_is_refused_in_vietnamese(tmp_path: Path, console_settings: Settings) -> None:
    env = {"CONGDAN_VAR_DIR": str(console_settings.var_dir), "CONGDAN_INDEX_DIR": str(tmp_path / "index")}
    short = congdan(["operator", "add", "canbo", "--password-stdin"], env, "ngan\n")
    assert short.returncode == 2 and "mật khẩu cần" in short.stderr and "Traceback" not in short.stderr
    role = congdan(
        ["operator", "add", "canbo", "--role", "root", "--password-stdin"], env, "mat-khau-du-dai-1\n"
    )
    assert role.returncode == 2 and "vai trò" in role.stderr
    missing = congdan(["operator", "remove", "khong-co"], env)
    assert missing.returncode == 1 and "Không có tài khoản" in missing.stderr
    prompted = congdan(["operator", "add", "canbo2"], env, "mat-khau-du-dai-1\nmat-khau-du-dai-1\n")
    assert prompted.returncode == 0, prompted.stderr
