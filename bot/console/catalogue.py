"""Catalogue editing for the console: list and search, validated and sanitised saves as
draft revisions, history with diffs, revert. Storage is ``knowledge.catalogue_store``.

- ``validate(raw, procedure_id)``: a client's JSON object → ``Procedure``. Read-only keys
  (``revision``, ``status``, timestamps) are dropped, every string is sanitised (all HTML
  removed with nh3), and pydantic's errors become ``InvalidProcedure.problems``:
  ``[{"field": "documents.0.name", "problem": "..."}]`` (shown by field, answered as 422).
- ``create`` / ``replace`` write a new draft revision → ``{"id", "revision", "status"}``.
- ``public(record)``: what ``GET /api/admin/procedures/{id}`` returns: the catalogue model's
  fields plus ``revision``, ``status``, ``published_revision``, ``updated_at``.
Raises ``CatalogueError`` (with an HTTP status and a Vietnamese message) for the rest.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import nh3
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from bot.console import audit
from knowledge import catalogue_store
from knowledge.catalogue_store import Record
from knowledge.models import Procedure
from knowledge.normalize import fold

READ_ONLY_KEYS = frozenset({"revision", "status", "published_revision", "updated_at", "created_at"})
STATUSES = ("draft", "published")
MAX_LIST = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class CatalogueError(Exception):
    """A refused catalogue operation; ``message`` is safe to show to an operator."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class InvalidProcedure(Exception):
    """The submitted record does not pass the catalogue model; ``problems`` by field."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{p['field']}: {p['problem']}" for p in problems))
        self.problems = problems


def sanitise_text(value: str) -> str:
    """Plain text: every HTML tag removed (script/style with their content), entities
    decoded, NFC, control characters dropped, ends trimmed."""
    text = unicodedata.normalize("NFC", value)
    for _ in range(3):  # decoded entities may spell a tag again ("&lt;b&gt;")
        cleaned = html.unescape(nh3.clean(text, tags=set()))
        if cleaned == text:
            break
        text = cleaned
    return _CONTROL.sub("", text).strip()


def sanitise(value: Any) -> Any:
    if isinstance(value, str):
        return sanitise_text(value)
    if isinstance(value, list):
        return [sanitise(v) for v in value]
    if isinstance(value, dict):
        return {k: sanitise(v) for k, v in value.items()}
    return value


def _drop_empty_items(data: dict[str, Any]) -> dict[str, Any]:
    """List items a form left blank are not content (an empty alias line)."""
    for key in ("aliases", "questions", "steps", "legal_basis"):
        if isinstance(data.get(key), list):
            data[key] = [v for v in data[key] if not (isinstance(v, str) and not v)]
    for key, value in list(data.items()):
        if value == "" and key not in ("id", "name", "source"):
            data[key] = None
    return data


def problem_text(error: Any) -> str:
    """pydantic's error in the operator's words (Vietnamese)."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing":
        return "Bắt buộc phải có."
    if kind in ("string_too_short", "too_short"):
        return (
            "Bắt buộc phải có."
            if ctx.get("min_length") == 1
            else f"Quá ngắn (tối thiểu {ctx.get('min_length')} ký tự)."
        )
    if kind in ("string_too_long", "too_long"):
        return f"Quá dài (tối đa {ctx.get('max_length')} ký tự)."
    if kind == "string_pattern_mismatch":
        return "Chỉ gồm chữ không dấu, số và các dấu . _ - (không có khoảng trắng)."
    if kind == "literal_error":
        return f"Chỉ nhận một trong các giá trị: {str(ctx.get('expected')).replace(' or ', ', ')}."
    if kind == "extra_forbidden":
        return "Danh mục không có trường này."
    if kind == "value_error":
        return str(ctx.get("error") or error.get("msg"))
    if kind.startswith("date"):
        return "Ngày không hợp lệ (dạng NNNN-TT-NN)."
    if kind in ("list_type", "string_type", "dict_type", "model_type"):
        return "Kiểu dữ liệu không đúng."
    return "Giá trị không hợp lệ."


def validate(raw: Any, procedure_id: str | None = None) -> Procedure:
    """The submitted object as a ``Procedure`` (sanitised), or ``InvalidProcedure``."""
    if not isinstance(raw, dict):
        raise InvalidProcedure([{"field": "body", "problem": "Cần một đối tượng JSON mô tả thủ tục."}])
    data = _drop_empty_items(sanitise({k: v for k, v in raw.items() if k not in READ_ONLY_KEYS}))
    if procedure_id is not None:
        if data.get("id") not in (None, procedure_id):
            raise InvalidProcedure([{"field": "id", "problem": "Mã thủ tục không được đổi khi sửa."}])
        data["id"] = procedure_id
    try:
        return Procedure.model_validate({**data, "status": "draft"})
    except ValidationError as error:
        raise InvalidProcedure(
            [
                {"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": problem_text(e)}
                for e in error.errors()
            ]
        ) from None


def public(record: Record) -> dict[str, Any]:
    updated = record.updated_at
    return {
        **record.data,
        "revision": record.revision,
        "status": record.status,
        "published_revision": record.published_revision,
        "updated_at": updated.isoformat(timespec="seconds") if updated else None,
    }


def _searchable(data: dict[str, Any]) -> str:
    parts = [data.get("id"), data.get("name"), *(data.get("aliases") or []), *(data.get("questions") or [])]
    return fold(" ".join(str(p) for p in parts if p).lower())


def summaries(
    engine: Engine,
    q: str | None = None,
    status: str | None = None,
    field: str | None = None,
    level: str | None = None,
) -> list[dict[str, Any]]:
    """The catalogue, filtered: ``q`` matches id, name, aliases and curated questions (with
    or without diacritics), ``field`` and ``level`` exactly, ``status`` draft|published."""
    if status and status not in STATUSES:
        raise CatalogueError(422, "Trạng thái chỉ có thể là draft hoặc published.")
    needle = fold(" ".join(q.lower().split())) if q else ""
    out = []
    for record in catalogue_store.records(engine):
        data = record.data
        if status and record.status != status:
            continue
        if field and data.get("field") != field:
            continue
        if level and data.get("level") != level:
            continue
        if needle and needle not in _searchable(data):
            continue
        out.append(public(record))
        if len(out) >= MAX_LIST:
            break
    return out


def facets(engine: Engine) -> dict[str, list[str]]:
    """The fields and levels the catalogue uses (for the filters)."""
    fields: set[str] = set()
    levels: set[str] = set()
    for record in catalogue_store.records(engine):
        if record.data.get("field"):
            fields.add(str(record.data["field"]))
        if record.data.get("level"):
            levels.add(str(record.data["level"]))
    return {"fields": sorted(fields), "levels": sorted(levels)}


def get(engine: Engine, procedure_id: str) -> dict[str, Any]:
    record = catalogue_store.record(engine, procedure_id)
    if record is None:
        raise CatalogueError(404, f"Không tìm thấy thủ tục {procedure_id}.")
    return public(record)


@dataclass
class Saved:
    id: str
    revision: int
    outcome: str  # created | updated | unchanged

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "revision": self.revision, "status": "draft"}


def create(engine: Engine, raw: Any, actor: str) -> Saved:
    procedure = validate(raw)
    with engine.begin() as connection:
        if catalogue_store.latest(connection, procedure.id) is not None:
            raise CatalogueError(409, f"Mã thủ tục {procedure.id} đã có trong danh mục.")
        outcome, number = catalogue_store.save_draft(connection, procedure, actor, action="create")
        audit.record(connection, actor, "catalogue.create", procedure.id, {"revision": number})
    return Saved(procedure.id, number, outcome)


def replace(engine: Engine, procedure_id: str, raw: Any, actor: str) -> Saved:
    if catalogue_store.record(engine, procedure_id) is None:
        raise CatalogueError(404, f"Không tìm thấy thủ tục {procedure_id}.")
    procedure = validate(raw, procedure_id)
    with engine.begin() as connection:
        outcome, number = catalogue_store.save_draft(connection, procedure, actor)
        if outcome != "unchanged":
            audit.record(connection, actor, "catalogue.edit", procedure_id, {"revision": number})
    return Saved(procedure_id, number, outcome)


def history(engine: Engine, procedure_id: str) -> list[dict[str, Any]]:
    if catalogue_store.record(engine, procedure_id) is None:
        raise CatalogueError(404, f"Không tìm thấy thủ tục {procedure_id}.")
    return catalogue_store.history(engine, procedure_id)


def revert(engine: Engine, procedure_id: str, number: Any, actor: str) -> Saved:
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise InvalidProcedure([{"field": "revision", "problem": "Cần số phiên bản (số nguyên dương)."}])
    if catalogue_store.record(engine, procedure_id) is None:
        raise CatalogueError(404, f"Không tìm thấy thủ tục {procedure_id}.")
    reverted = catalogue_store.revert(engine, procedure_id, number, actor)
    if reverted is None:
        raise CatalogueError(404, f"Thủ tục {procedure_id} không có phiên bản {number}.")
    outcome, new_number = reverted
    audit.record(engine, actor, "catalogue.revert", procedure_id, {"from": number, "revision": new_number})
    return Saved(procedure_id, new_number, outcome)
