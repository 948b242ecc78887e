"""One logging setup for every process: structured lines, personal data masked.

The masking filter rewrites the rendered message, so PII never reaches a handler
whatever the call site passed as arguments.
"""

from __future__ import annotations

import json
import logging
import re
import sys

# Dossier codes: 000.00.04.H51-200221-0001, also typed with spaces or lower case.
_DOSSIER = re.compile(r"\b\d{3}\s*\.\s*\d{2}\s*\.\s*\d{2}\s*\.\s*[A-Za-z]\d{2}\s*-\s*\d{6}\s*-\s*\d{4}\b")
# Vietnamese phone numbers: 0xxxxxxxxx or +84/84 xxxxxxxxx, with optional separators.
_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.-]?\d){9}(?!\d)")
# Identity numbers: 12-digit căn cước / 9-digit CMND.
_ID_NUMBER = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)")


def mask_pii(text: str) -> str:
    """Replace dossier codes, phone numbers and 9/12-digit ID numbers with placeholders."""
    text = _DOSSIER.sub(lambda m: "[HỒ-SƠ:…" + re.sub(r"\D", "", m.group())[-2:] + "]", text)
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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            payload["exc"] = mask_pii(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Configure the root logger once; idempotent."""
    handler = logging.StreamHandler(sys.stderr)
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
