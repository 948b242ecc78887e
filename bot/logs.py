"""One logging setup for every process: structured lines, personal data masked.

The masking filter rewrites the rendered message, so PII never reaches a handler
whatever the call site passed as arguments.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from typing import Any

from bot.portal.codes import CODE_PATTERN, fold_digits

# Dossier codes in every form the lookup accepts (bot/portal/codes.py: spaces, lower case,
# commas for dots, other dashes); digits of any script are folded to ASCII first.
_DOSSIER = CODE_PATTERN
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SEP = r"[\s.-]?"
# Phones: mobiles 0 + 9 digits, landlines 0 + 10 digits (028 3823 4567, 0203 123 4567), with
# +84 / 84 instead of the 0, separators anywhere, the area code possibly in parentheses.
_PHONE = re.compile(
    rf"(?<![\d+])(?:(?:\+\s?84|84|0){_SEP}\(?\d\)?(?:{_SEP}\(?\d\)?){{8,9}}"
    rf"|\(\s?(?:\+?84|0)\s?\d{{1,3}}\s?\)(?:{_SEP}\d){{7,8}})(?!\d)"
)
# Identity numbers: 12-digit căn cước / 9-digit CMND, also written in groups ("001 099 012 345").
_ID_NUMBER = re.compile(rf"(?<!\d)(?:\d(?:{_SEP}\d){{11}}|\d(?:{_SEP}\d){{8}})(?!\d)")


def mask_pii(text: str) -> str:
    """Replace dossier codes, e-mail addresses, phone numbers (mobile and landline) and
    9/12-digit ID numbers with placeholders; digits of any script count."""
    text = fold_digits(text)
    text = _DOSSIER.sub(lambda m: "[HỒ-SƠ:…" + re.sub(r"\D", "", m.group())[-2:] + "]", text)
    text = _EMAIL.sub("[EMAIL]", text)
    text = _PHONE.sub("[SĐT]", text)
    return _ID_NUMBER.sub("[SỐ-ĐỊNH-DANH]", text)


class PiiMaskingFilter(logging.Filter):
    """Renders the record's message once, masked, and drops the raw arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not break the request
            message = str(record.msg)
        record.msg = mask_pii(message)
        record.args = None
        return True


class TextFormatter(logging.Formatter):
    """Plain lines; tracebacks are masked too."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_pii(super().format(record))


class RequestId:
    """The id of the turn being handled (a context variable): the gateway binds one per
    HTTP request and sends it to Rasa in the message metadata; the action server binds
    the same id per call. Every log line of that turn carries it."""

    def __init__(self) -> None:
        self._var: contextvars.ContextVar[str] = contextvars.ContextVar("congdan_request_id", default="")

    @staticmethod
    def new() -> str:
        return uuid.uuid4().hex[:16]

    def bind(self, value: str) -> contextvars.Token[str]:
        return self._var.set(value)

    def reset(self, token: contextvars.Token[str]) -> None:
        try:
            self._var.reset(token)
        except ValueError:  # bound in another context (a server's middleware): nothing to undo
            self._var.set("")

    def get(self) -> str:
        return self._var.get()


request_id = RequestId()


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (empty outside a turn)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", "") or request_id.get()
        if rid:
            payload["request_id"] = rid
        if record.exc_info:
            payload["exc"] = mask_pii(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


def ensure_masked_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """For a process whose server may have configured logging already (the gateway under
    plain ``uvicorn``): set logging up if nobody did, and make every handler of the root and
    server loggers mask personal data (uvicorn's access log carries query strings)."""
    root = logging.getLogger()
    if not root.handlers:
        setup_logging(level, json_lines)
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, PiiMaskingFilter | PiiArgumentsFilter) for f in handler.filters):
                # uvicorn's access formatter unpacks record.args: mask them in place there
                handler.addFilter(PiiArgumentsFilter() if name == "uvicorn.access" else PiiMaskingFilter())


class PiiArgumentsFilter(logging.Filter):
    """Masks the message and each string argument, keeping the arguments' shape (for
    formatters that read ``record.args`` themselves, like uvicorn's access log, whose
    paths are URL-encoded: decoded first, so ``0912+345+678`` or ``a%40b.vn`` are found)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from urllib.parse import unquote_plus

        record.msg = mask_pii(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(mask_pii(unquote_plus(a)) if isinstance(a, str) else a for a in record.args)
        return True


def setup_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Configure the root logger once; idempotent."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(PiiMaskingFilter())
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "urllib3", "faiss", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def server_log_config(level: str = "INFO", json_lines: bool = False) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` document for processes whose server configures
    logging itself (uvicorn's ``--log-config``, Rasa's ``--logging-config-file``): the same
    masked, request-id-carrying lines as ``setup_logging``, uvicorn's access log included."""
    formatter: dict[str, Any] = (
        {"()": "bot.logs.JsonFormatter"}
        if json_lines
        else {"()": "bot.logs.TextFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
              "datefmt": "%H:%M:%S"}
    )  # fmt: skip
    quiet = {"level": "WARNING"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "pii": {"()": "bot.logs.PiiMaskingFilter"},
            "request_id": {"()": "bot.logs.RequestIdFilter"},
        },
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id", "pii"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
            **{name: quiet for name in ("httpx", "httpcore", "urllib3", "faiss", "sentence_transformers")},
        },
    }
