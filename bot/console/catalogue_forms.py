"""The edit form of a procedure: the catalogue record ↔ the HTML form's fields, and the
citizen's answer preview.

Lists are edited one item per line; documents one per line as ``tên | mẫu đơn | đường
dẫn mẫu | số lượng``; channels as checkboxes. ``from_form`` gives the raw object that
``bot.console.catalogue.validate`` checks (as the JSON API's PUT body is checked).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from knowledge.models import CHANNEL_LABELS, LEVEL_LABELS

TEXT_FIELDS = (
    ("name", "Tên thủ tục"),
    ("field", "Lĩnh vực"),
    ("agency", "Cơ quan thực hiện"),
    ("applicants", "Đối tượng thực hiện"),
    ("fees", "Lệ phí"),
    ("processing_time", "Thời gian giải quyết"),
    ("where", "Nơi nộp hồ sơ"),
    ("result", "Kết quả"),
    ("url", "Đường dẫn trang chính thức"),
    ("source", "Nguồn"),
)
LIST_FIELDS = (
    ("aliases", "Tên gọi khác (mỗi dòng một cách gọi của người dân)"),
    ("questions", "Câu hỏi mẫu (mỗi dòng một câu)"),
    ("steps", "Các bước thực hiện (mỗi dòng một bước)"),
    ("documents", "Hồ sơ cần chuẩn bị (mỗi dòng: tên | mẫu đơn | đường dẫn mẫu | số lượng)"),
    ("legal_basis", "Căn cứ pháp lý (mỗi dòng một văn bản)"),
)
LONG_TEXT = frozenset({"applicants", "fees", "processing_time", "where", "result"})
DOCUMENT_KEYS = ("name", "form_name", "form_url", "quantity")
LABELS = {
    "id": "Mã thủ tục",
    "level": "Cấp thực hiện",
    "channels": "Cách nộp",
    "last_reviewed": "Ngày rà soát",
    **dict(TEXT_FIELDS),
    **{k: v.split(" (")[0] for k, v in LIST_FIELDS},
}
UNKNOWN = "danh mục chưa có thông tin"


def _lines(value: Any) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def to_form(data: Mapping[str, Any]) -> dict[str, Any]:
    """Values for the form's inputs."""
    values: dict[str, Any] = {k: data.get(k) or "" for k, _ in TEXT_FIELDS}
    values["id"] = data.get("id") or ""
    values["level"] = data.get("level") or ""
    values["last_reviewed"] = data.get("last_reviewed") or ""
    values["channels"] = list(data.get("channels") or [])
    # The record's channels first, in its order: a save that changes nothing keeps the order.
    values["channel_order"] = values["channels"] + [c for c in CHANNEL_LABELS if c not in values["channels"]]
    for key in ("aliases", "questions", "steps", "legal_basis"):
        values[key] = "\n".join(str(v) for v in data.get(key) or [])
    values["documents"] = "\n".join(
        " | ".join(str(d.get(k) or "") for k in DOCUMENT_KEYS).rstrip(" |")
        for d in data.get("documents") or []
    )
    return values


def from_form(form: Mapping[str, Any], channels: list[str]) -> dict[str, Any]:
    """The raw record a submitted form describes (validated later, like an API body)."""
    raw: dict[str, Any] = {k: str(form.get(k) or "").strip() or None for k, _ in TEXT_FIELDS}
    raw["id"] = str(form.get("id") or "").strip()
    raw["level"] = str(form.get("level") or "").strip() or None
    raw["last_reviewed"] = str(form.get("last_reviewed") or "").strip() or None
    raw["channels"] = channels
    for key in ("aliases", "questions", "steps", "legal_basis"):
        raw[key] = _lines(form.get(key))
    documents = []
    for line in _lines(form.get("documents")):
        parts = [p.strip() or None for p in line.split("|")]
        documents.append({k: v for k, v in zip(DOCUMENT_KEYS, parts, strict=False) if v})
    raw["documents"] = documents
    raw["name"] = raw["name"] or ""
    raw["source"] = raw["source"] or ""
    return raw


def shown(value: Any) -> str:
    """A stored value as an officer reads it in a diff: lists one item per line, documents
    by their name."""
    if value is None or value == [] or value == "":
        return "(trống)"
    if isinstance(value, list):
        return "\n".join(str(v.get("name") or v) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


def errors_by_field(problems: list[dict[str, str]]) -> dict[str, list[str]]:
    """``documents.0.name`` → shown at ``documents`` (the form's input)."""
    out: dict[str, list[str]] = {}
    for problem in problems:
        key = problem["field"].split(".")[0] or "body"
        detail = problem["field"][len(key) + 1 :]
        message = problem["problem"] if not detail else f"{detail}: {problem['problem']}"
        out.setdefault(key, []).append(message)
    return out


def preview(data: Mapping[str, Any]) -> dict[str, Any]:
    """The facts the bot's answer shows, each with the words a missing fact gets."""
    channels = list(data.get("channels") or [])
    online = [c for c in channels if str(c).startswith("online")]
    if not channels:
        online_text = UNKNOWN
    elif not online:
        online_text = "chưa hỗ trợ, Anh/Chị nộp trực tiếp" + (
            " hoặc qua bưu chính" if "post" in channels else ""
        )
    else:
        online_text = "có (" + ", ".join(CHANNEL_LABELS.get(c, c).lower() for c in channels) + ")"
    return {
        "name": data.get("name") or UNKNOWN,
        "where": data.get("where") or data.get("agency") or UNKNOWN,
        "processing_time": data.get("processing_time") or UNKNOWN,
        "fees": data.get("fees") or UNKNOWN,
        "online": online_text,
        "documents": [
            d.get("name") for d in data.get("documents") or [] if isinstance(d, dict) and d.get("name")
        ],
        "url": data.get("url"),
        "unknown": UNKNOWN,
    }


CHOICES = {"channels": CHANNEL_LABELS, "levels": LEVEL_LABELS}
