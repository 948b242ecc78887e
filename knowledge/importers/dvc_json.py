"""Importer for the national procedure database export (``shared/data/*.json``).

The records are real and messy: HTML fragments, "ĐồngXem chi tiết" debris, empty
form links, duplicate records and district-level agencies abolished on 1 July 2025.
We clean what we can, keep the source reference, merge exact duplicates and report
every record we could not use, with its position and the reason. Fees, processing
times and document counts, stated per submission channel in the export, are turned
into short plain Vietnamese by ``knowledge.facts`` (unknown stays ``None``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from knowledge.facts import format_fees, format_processing_time, format_quantity
from knowledge.importers.report import ImportFileError, ParseResult, Rejection
from knowledge.models import Document, Procedure
from knowledge.normalize import clean, fold

SOURCE = "Cơ sở dữ liệu quốc gia về thủ tục hành chính (bản thu thập năm 2021)"
_BULLET = re.compile(r"^[\s\-+•*–]+")
_STEP_SPLIT = re.compile(r"\n+|(?=\s-\s*Bước\s*\d)|(?=\bBước\s*\d+\s*[:.])")
_CHANNELS = {
    "trực tiếp": "in_person",
    "trực tuyến": "online",
    "dịch vụ bưu chính": "post",
    "bưu chính": "post",
}


def _text(value: Any) -> str:
    return clean(value) if isinstance(value, str) else ""


def _level(agency: str) -> tuple[str | None, str | None]:
    """The level in force since 1 July 2025, and a warning when the source is outdated."""
    folded = fold(agency.lower())
    if "huyen" in folded or folded.startswith("phong ") or "chi cuc" in folded:
        return None, "cơ quan cấp huyện đã bãi bỏ từ 01/7/2025; cần rà soát cơ quan thực hiện"
    if re.search(r"\b(xa|phuong|thi tran)\b", folded):
        return "commune", None
    if re.search(r"\b(tinh|so|thanh pho)\b", folded):
        return "province", None
    if re.search(r"^(bo|cuc|tong cuc)\b|\bbo\b", folded):
        return "ministry", None
    return None, None


def _steps(raw: str) -> list[str]:
    steps = []
    for part in _STEP_SPLIT.split(raw.replace("</p>", "\n").replace("<br>", "\n")):
        text = _BULLET.sub("", clean(part)).strip()
        if len(text) > 2:
            steps.append(text)
    return steps


def _documents(rows: Any) -> list[Document]:
    documents = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        name = _BULLET.sub("", _text(row.get("Tên giấy tờ"))).rstrip(";.").strip()
        if not name:
            continue
        link = _text(row.get("Mẫu đơn, tờ khai"))
        has_form = bool(re.search(r"[?&]ma=[^&\s]+", link)) and link.startswith("http")
        documents.append(
            Document(
                name=name,
                form_url=link if has_form else None,
                quantity=format_quantity(_text(row.get("Số lượng - bản chính"))),
            )
        )
    return documents


def _pairs(ways: list[dict[str, Any]], key: str) -> list[tuple[str, str]]:
    """(channel, value) of one column of the per-channel table, raw."""
    return [(_text(way.get("Hình thức nộp")), str(way.get(key) or "")) for way in ways]


def _per_channel(ways: list[dict[str, Any]], key: str) -> str | None:
    values: dict[str, str] = {}
    for way in ways:
        value = _text(way.get(key))
        if not value:
            continue
        values.setdefault(value, _text(way.get("Hình thức nộp")) or "Khác")
    if not values:
        return None
    if len(values) == 1:
        return next(iter(values))
    return "; ".join(f"{channel}: {value}" for value, channel in values.items())


def parse_record(raw: Any) -> Procedure:
    """One export record to a Procedure; raises ValueError with a readable reason."""
    if not isinstance(raw, dict):
        raise ValueError("bản ghi không phải đối tượng JSON")
    name = _text(raw.get("title"))
    if len(name) < 3:
        raise ValueError("thiếu tên thủ tục (title)")
    oid = raw.get("_id", {}).get("$oid") if isinstance(raw.get("_id"), dict) else None
    if not isinstance(oid, str) or not re.fullmatch(r"[0-9a-fA-F]{24}", oid):
        raise ValueError("thiếu mã bản ghi (_id.$oid)")
    ways = [w for w in raw.get("Cách thức thực hiện") or [] if isinstance(w, dict)]
    channels: list[str] = []
    for way in ways:
        channel = _CHANNELS.get(_text(way.get("Hình thức nộp")).lower())
        if channel and channel not in channels:
            channels.append(channel)
    agency = _text(raw.get("Cơ quan thực hiện")).rstrip(".") or None
    level = _level(agency)[0] if agency else None
    try:
        return Procedure.model_validate(
            {
                "id": f"dvc-{oid.lower()}",
                "name": name,
                "agency": agency,
                "level": level,
                "steps": _steps(str(raw.get("Trình tự thực hiện") or "")),
                "documents": _documents(raw.get("Thành phần hồ sơ")),
                "fees": format_fees(_pairs(ways, "Phí, lệ phí")),
                "processing_time": format_processing_time(
                    _pairs(ways, "Thời hạn giải quyết"),
                    # the description and the steps of the same record may state the time limit
                    other_text=" ".join(
                        [*(v for _, v in _pairs(ways, "Mô tả")), str(raw.get("Trình tự thực hiện") or "")]
                    ),
                ),
                "channels": channels,
                "where": _per_channel(ways, "Mô tả"),
                "source": f"{SOURCE}, bản ghi {oid}",
            }
        )
    except ValidationError as error:
        raise ValueError("; ".join(e["msg"] for e in error.errors())) from error


def parse_records(records: list[Any]) -> ParseResult:
    """Parse a list of export records; merge exact duplicates; reject the unusable."""
    result = ParseResult()
    seen: dict[str, str] = {}
    for row, raw in enumerate(records, start=1):
        try:
            procedure = parse_record(raw)
        except ValueError as error:
            title = raw.get("title") if isinstance(raw, dict) else None
            result.rejected.append(Rejection(row, str(error), title if isinstance(title, str) else None))
            continue
        content = json.dumps(procedure.model_dump(mode="json", exclude={"id", "source"}), sort_keys=True)
        if content in seen:
            result.merged.append(f"dòng {row} ({procedure.id}) trùng hoàn toàn, gộp vào {seen[content]}")
            continue
        seen[content] = procedure.id
        if procedure.agency:
            warning = _level(procedure.agency)[1]
            if warning:
                result.warnings.append(f"dòng {row} ({procedure.id}): {warning}")
        result.procedures.append(procedure)
    return result


def read_file(path: Path) -> ParseResult:
    """Parse an export file; raise ImportFileError when the file itself is unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ImportFileError(f"{path.name}: không phải văn bản UTF-8") from error
    except json.JSONDecodeError as error:
        raise ImportFileError(f"{path.name}: JSON lỗi ở dòng {error.lineno}, cột {error.colno}") from error
    if not isinstance(data, list):
        raise ImportFileError(f"{path.name}: cần một mảng JSON các thủ tục")
    return parse_records(data)


def looks_like_export(data: Any) -> bool:
    """True for the national export shape (used to pick the importer)."""
    return isinstance(data, list) and any(
        isinstance(r, dict) and "title" in r and "Trình tự thực hiện" in r for r in data[:5]
    )
