"""Export of the catalogue as the console shows it (each procedure's latest revision, with
its status) to XLSX or CSV, in the table shape ``congdan import`` and the console's import
read back: list columns one item per line, documents as ``name | form | link``.

Every text cell that a spreadsheet would run as a formula (starting with ``= + - @``, a tab
or a carriage return) is written with a leading apostrophe (``neutralise_cell``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Engine

from knowledge import catalogue_store
from knowledge.importers.native import neutralise_cell

COLUMNS = (
    "id",
    "name",
    "status",
    "field",
    "level",
    "agency",
    "applicants",
    "steps",
    "documents",
    "fees",
    "processing_time",
    "channels",
    "where",
    "legal_basis",
    "result",
    "url",
    "aliases",
    "questions",
    "source",
    "last_reviewed",
)


def _cell(key: str, value: Any) -> str | int | None:
    if value is None or value == []:
        return None
    if key == "documents":
        lines = [
            " | ".join(str(d.get(k) or "") for k in ("name", "form_name", "form_url")).rstrip(" |")
            for d in value
        ]
        text = "\n".join(lines)
    elif isinstance(value, list):
        text = "\n".join(str(v) for v in value)
    elif isinstance(value, int) and not isinstance(value, bool):
        return value
    else:
        text = str(value)
    return neutralise_cell(text)


def rows(engine: Engine) -> Iterator[list[str | int | None]]:
    """The header, then one row per procedure."""
    yield list(COLUMNS)
    for record in catalogue_store.records(engine):
        values = {**record.data, "status": record.status}
        yield [_cell(key, values.get(key)) for key in COLUMNS]


def to_csv(engine: Engine) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows(engine):
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def to_xlsx(engine: Engine) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Thủ tục")
    for row in rows(engine):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text, never a formula, whatever it starts with
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
