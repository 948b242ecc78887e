"""Our own export shape (JSON or YAML list of ``Procedure`` objects) and CSV/XLSX tables.

``read_any(path, max_rows=None)`` parses one file; a file with more than ``max_rows``
records is refused whole (``ImportFileError``) as soon as the parser passes the cap, so an
upload cannot make the server hold a huge sheet. XLSX is read with openpyxl in read-only
mode. A table cell written by our export with a neutralising apostrophe (``'=…``, see
``FORMULA_PREFIXES``) reads back as the text without it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from knowledge.importers import dvc_json
from knowledge.importers.report import ImportFileError, ParseResult, Rejection
from knowledge.models import Procedure
from knowledge.normalize import clean

# Table columns holding lists: one item per line (documents: "name | form | link").
_LIST_COLUMNS = {"steps", "legal_basis", "aliases", "questions", "channels"}
MAX_FILE_BYTES = 50 * 1024 * 1024
# A spreadsheet treats a cell starting with one of these as a formula; exports prefix such
# cells with an apostrophe (OWASP "CSV injection"), which an import removes again.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(text: str) -> str:
    """The cell as a spreadsheet shows it as text, never as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _unneutralise(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES) else text


def _too_many(name: str, max_rows: int) -> ImportFileError:
    return ImportFileError(f"{name}: quá {max_rows} dòng (chia nhỏ tệp rồi nhập lại)")


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"] for e in error.errors()
    )


def parse_objects(rows: list[Any], row_numbers: list[int] | None = None) -> ParseResult:
    """Validate already-structured records; later duplicates of an id are merged."""
    result = ParseResult()
    index: dict[str, int] = {}
    numbers = row_numbers or list(range(1, len(rows) + 1))
    for row, raw in zip(numbers, rows, strict=True):
        title = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(raw, dict):
            result.rejected.append(Rejection(row, "bản ghi không phải đối tượng"))
            continue
        try:
            procedure = Procedure.model_validate(_cleaned(raw))
        except ValidationError as error:
            result.rejected.append(
                Rejection(row, _describe(error), title if isinstance(title, str) else None)
            )
            continue
        if procedure.id in index:
            result.procedures[index[procedure.id]] = procedure
            result.merged.append(f"dòng {row}: mã {procedure.id} lặp lại, dùng bản sau")
            continue
        index[procedure.id] = len(result.procedures)
        result.procedures.append(procedure)
    return result


def _cleaned(raw: dict[str, Any]) -> dict[str, Any]:
    """Strip HTML and debris from every string, recursively."""

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return clean(value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    return {k: walk(v) for k, v in raw.items()}


def _table_row(row: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or (isinstance(value, str) and not value.strip()):
            continue
        key = str(key).strip()
        text = _unneutralise(str(value).strip())
        if key in _LIST_COLUMNS:
            record[key] = [line.strip() for line in text.splitlines() if line.strip()]
        elif key == "documents":
            record[key] = []
            for line in text.splitlines():
                parts = [p.strip() or None for p in line.split("|")] + [None, None]
                if parts[0]:
                    record[key].append({"name": parts[0], "form_name": parts[1], "form_url": parts[2]})
        else:
            record[key] = text
    return record


def read_table(path: Path, max_rows: int | None = None) -> ParseResult:
    numbered: list[tuple[int, dict[str, Any]]]  # (row number in the sheet, cells)
    if path.suffix.lower() == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ImportFileError(f"{path.name}: không phải văn bản UTF-8") from error
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "id" not in reader.fieldnames or "name" not in reader.fieldnames:
            raise ImportFileError(f"{path.name}: cần có các cột id, name, source")
        numbered = []
        for row in reader:
            numbered.append((reader.line_num, row))
            if max_rows is not None and len(numbered) > max_rows:
                raise _too_many(path.name, max_rows)
    else:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many types for a broken file
            raise ImportFileError(
                f"{path.name}: không đọc được tệp Excel ({type(error).__name__})"
            ) from error
        try:
            sheet = workbook.active
            if sheet is None:
                raise ImportFileError(f"{path.name}: tệp Excel không có trang tính")
            rows = sheet.iter_rows(values_only=True)
            first = next(rows, None)
            if first is None or "id" not in first or "name" not in first:
                raise ImportFileError(f"{path.name}: cần có các cột id, name, source ở dòng đầu")
            header = [str(h) if h is not None else "" for h in first]
            numbered = []
            for number, r in enumerate(rows, start=2):
                if any(c not in (None, "") for c in r):
                    numbered.append((number, dict(zip(header, r, strict=False))))
                    if max_rows is not None and len(numbered) > max_rows:
                        raise _too_many(path.name, max_rows)
        except ImportFileError:
            raise
        except Exception as error:  # a damaged sheet fails while it is read, not when opened
            raise ImportFileError(
                f"{path.name}: không đọc được tệp Excel ({type(error).__name__})"
            ) from error
        finally:
            workbook.close()
    numbered = [(n, row) for n, row in numbered if any(str(v or "").strip() for v in row.values())]
    return parse_objects([_table_row(r) for _, r in numbered], [n for n, _ in numbered])


def read_structured(path: Path, max_rows: int | None = None) -> ParseResult:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ImportFileError(f"{path.name}: không phải văn bản UTF-8") from error
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise ImportFileError(f"{path.name}: JSON lỗi ở dòng {error.lineno}, cột {error.colno}") from error
    except yaml.YAMLError as error:
        raise ImportFileError(f"{path.name}: YAML lỗi ({error.__class__.__name__})") from error
    if max_rows is not None and _record_count(data) > max_rows:
        raise _too_many(path.name, max_rows)
    if dvc_json.looks_like_export(data):
        return dvc_json.parse_records(data)
    if isinstance(data, dict) and isinstance(data.get("procedures"), list):
        data = data["procedures"]
    if not isinstance(data, list):
        raise ImportFileError(f"{path.name}: cần một danh sách thủ tục")
    return parse_objects(data)


def _record_count(data: Any) -> int:
    """Records in a parsed JSON/YAML document: the longest list at the top or one level down."""
    if isinstance(data, list):
        return len(data)
    if isinstance(data, dict):
        return max((len(v) for v in data.values() if isinstance(v, list)), default=0)
    return 0


def read_any(path: Path, max_rows: int | None = None) -> ParseResult:
    """Parse one catalogue file of any supported kind (JSON, YAML, CSV, XLSX)."""
    if not path.is_file():
        raise ImportFileError(f"{path}: không tìm thấy tệp")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ImportFileError(f"{path.name}: tệp quá lớn (tối đa 50 MB)")
    suffix = path.suffix.lower()
    if suffix in {".csv", ".xlsx"}:
        return read_table(path, max_rows)
    if suffix in {".json", ".yml", ".yaml"}:
        return read_structured(path, max_rows)
    raise ImportFileError(f"{path.name}: định dạng không hỗ trợ (dùng .json, .yml, .csv, .xlsx)")
