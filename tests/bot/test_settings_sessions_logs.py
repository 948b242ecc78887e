import logging

import pytest

from bot.logs import PiiMaskingFilter, mask_pii, setup_logging
from bot.sessions import SessionTokens, load_or_create_secret
from bot.settings import Settings, SettingsError, load_settings


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CONGDAN_VAR_DIR", str(tmp_path))
    settings = Settings()
    assert settings.host == "127.0.0.1" and settings.port == 8000
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'congdan.db'}"
    assert settings.redis_url is None and settings.effective_portal_url == "http://127.0.0.1:8090"


def test_each_bad_value_gets_a_clear_message_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONGDAN_PORT", "not-a-port")
    monkeypatch.setenv("CONGDAN_DATABASE_URL", "mysql://x")
    monkeypatch.setenv("CONGDAN_REDIS_URL", "localhost:6379")
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert "CONGDAN_PORT" in message and "CONGDAN_DATABASE_URL" in message and "CONGDAN_REDIS_URL" in message


def test_ports_must_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONGDAN_RASA_PORT", "8000")
    with pytest.raises(SettingsError, match="phải khác nhau"):
        load_settings()


def test_session_tokens_are_random_signed_and_unforgeable(tmp_path) -> None:
    tokens = SessionTokens(load_or_create_secret(None, tmp_path))
    first, second = tokens.issue(), tokens.issue()
    assert first != second
    assert tokens.sender_id(first) and tokens.sender_id(first) != tokens.sender_id(second)
    assert tokens.sender_id(first).startswith("web:")
    other = SessionTokens("another-secret")
    assert other.sender_id(first) is None  # issued by someone else
    for forged in (None, "", "web:abc", first[:-2] + "xx", "a" * 500, 12):
        assert tokens.sender_id(forged) is None
    # the generated secret is kept, so sessions survive a restart
    assert SessionTokens(load_or_create_secret(None, tmp_path)).sender_id(first) == tokens.sender_id(first)
    assert (tmp_path / "session.key").stat().st_mode & 0o777 == 0o600


def test_pii_is_masked() -> None:
    line = mask_pii(
        "hồ sơ 000.00.04.H51-200221-0001 và 000 . 00.04.h51 - 200221-0002, sđt 0912345678, "
        "+84 912 345 678, căn cước 001099012345, cmnd 123456789, năm 2024"
    )
    for secret in ("H51-200221", "h51", "0912345678", "912 345 678", "001099012345", "123456789"):
        assert secret not in line
    assert "năm 2024" in line


@pytest.fixture
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_log_records_are_masked_whatever_the_call_site_passes(capsys, restore_root_logger) -> None:
    setup_logging("INFO")
    logging.getLogger("test").info("lookup %s for phone %s", "000.00.04.H51-200221-0001", "0987654321")
    try:
        raise ValueError("bad dossier 000.00.04.H51-200221-0001")
    except ValueError:
        logging.getLogger("test").exception("failed")
    err = capsys.readouterr().err
    assert "0987654321" not in err and "H51-200221-0001" not in err and "[SĐT]" in err
    assert any(isinstance(f, PiiMaskingFilter) for h in logging.getLogger().handlers for f in h.filters)
