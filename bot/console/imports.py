"""Import by upload (``POST /api/admin/import``): a JSON (ours or the national export),
YAML, CSV or XLSX file becomes drafts, in one transaction, with the importer's report.

Limits: ``max_bytes`` (``CONGDAN_MAX_IMPORT_BYTES``) and ``MAX_ROWS`` records; XLSX is read
by openpyxl in read-only mode. A file that cannot be read as a whole, or breaks a limit,
changes nothing (``ImportFileError``). Rows that fail validation are rejected with their
row number and reason; the others become drafts (publishing them is a separate step).
Every string is sanitised as an edit from the console is (all HTML removed).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Engine

from bot.console import audit
from bot.console.catalogue import sanitise
from knowledge import catalogue_store
from knowledge.importers.native import read_any
from knowledge.importers.report import ImportFileError, ImportReport, ParseResult, Rejection
from knowledge.models import Procedure

MAX_ROWS = 5000
SUFFIXES = (".json", ".yml", ".yaml", ".csv", ".xlsx")


def _suffix(filename: str) -> str:
    suffix = Path(filename.replace("\\", "/")).suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFileError("định dạng không hỗ trợ (dùng .json, .yml, .csv hoặc .xlsx)")
    return suffix


def parse_upload(filename: str, data: bytes, max_bytes: int, max_rows: int | None = None) -> ParseResult:
    """Parse the uploaded bytes as the file type its name says; raises ImportFileError."""
    max_rows = max_rows or MAX_ROWS
    suffix = _suffix(filename)
    if not data:
        raise ImportFileError("tệp rỗng")
    if len(data) > max_bytes:
        raise ImportFileError(f"tệp quá lớn (tối đa {max_bytes // (1024 * 1024) or 1} MB)")
    with tempfile.TemporaryDirectory(prefix="congdan-import-") as tmp:
        path = Path(tmp) / f"tep-tai-len{suffix}"
        path.write_bytes(data)
        parsed = read_any(path, max_rows=max_rows)
    return _sanitised(parsed)


def _sanitised(parsed: ParseResult) -> ParseResult:
    kept: list[Procedure] = []
    rejected = list(parsed.rejected)
    for number, procedure in enumerate(parsed.procedures, start=1):
        try:
            kept.append(Procedure.model_validate(sanitise(procedure.model_dump(mode="json"))))
        except ValidationError as error:
            reason = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
            rejected.append(Rejection(number, reason, procedure.name))
    return ParseResult(procedures=kept, rejected=rejected, merged=parsed.merged, warnings=parsed.warnings)


def report_dict(report: ImportReport) -> dict[str, Any]:
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "merged": report.merged,
        "warnings": report.warnings,
        "rejected": [{"row": r.row, "reason": r.reason, "title": r.title} for r in report.rejected],
        "summary": report.summary(),
    }


def import_upload(
    engine: Engine, filename: str, data: bytes, actor: str, max_bytes: int, max_rows: int | None = None
) -> ImportReport:
    """Parse and store as drafts (one transaction), audited; raises ImportFileError."""
    parsed = parse_upload(filename, data, max_bytes, max_rows)
    report = catalogue_store.import_drafts(engine, parsed, actor)
    audit.record(
        engine,
        actor,
        "catalogue.import",
        Path(filename).name[:200] or None,
        {
            "created": len(report.created),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
            "rejected": len(report.rejected),
        },
    )
    return report
