"""Import by upload and export from the console, on the real app: files become drafts with
the importer's report, a broken or oversized file changes nothing, and exported cells a
spreadsheet would run as formulas are neutralised (and read back as typed)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy.engine import Engine

from bot.console import audit
from bot.settings import Settings
from knowledge import catalogue_store
from knowledge.importers.native import neutralise_cell
from knowledge.models import Procedure
from tests.conftest import SHARED_DATA
from tests.console.conftest import EDITOR
from tests.console.helpers import api_csrf, login

FORMULAS = [
    '=HYPERLINK("http://evil.example","bấm")',
    "+84 912 345 678",
    "-1+1",
    "@SUM(A1:A2)",
    "- Giấy xác nhận",
]


@pytest.fixture
def console_settings(console_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The console's test settings with a 1 MB upload cap."""
    monkeypatch.setenv("CONGDAN_MAX_IMPORT_BYTES", str(1024 * 1024))
    return Settings()


@pytest.fixture
def editor(client: TestClient) -> dict[str, str]:
    assert login(client, *EDITOR).status_code == 303
    return {"X-CSRF-Token": api_csrf(client)}


def upload(client: TestClient, headers: dict[str, str], name: str, data: bytes) -> Any:
    return client.post("/api/admin/import", files={"file": (name, data)}, headers=headers)


def state_of(engine: Engine) -> tuple[list[dict[str, Any]], int]:
    """Everything an import could change: every record and the number of revisions."""
    records = [(r.id, r.revision, r.status, r.data) for r in catalogue_store.records(engine)]
    revisions = sum(len(catalogue_store.revisions(engine, r[0])) for r in records)
    return [dict(zip(("id", "revision", "status", "data"), r, strict=True)) for r in records], revisions


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_the_national_export_json_becomes_drafts_with_a_report(
    client: TestClient, console_engine: Engine, editor: dict[str, str]
) -> None:
    response = upload(client, editor, "dvc_procedures_87.json", SHARED_DATA.read_bytes())

    assert response.status_code == 200, response.text
    report = response.json()
    assert len(report["created"]) == 85 and report["rejected"] == [] and len(report["merged"]) == 2
    assert "Tạo mới: 85" in report["summary"]
    records = catalogue_store.records(console_engine)
    assert len(records) == 85 and {r.status for r in records} == {"draft"}
    assert catalogue_store.load_all(console_engine, published_only=True) == []  # nothing reaches citizens
    [entry] = audit.entries(console_engine, action="catalogue.import")
    assert entry["actor"] == EDITOR[0] and entry["detail"]["created"] == 85


def test_bad_rows_are_reported_by_row_and_good_rows_become_drafts(
    client: TestClient, console_engine: Engine, editor: dict[str, str]
) -> None:
    table = "id,name,source,aliases,fees\n"
    table += 'thu-nghiem.a,Thủ tục thử nghiệm A,cán bộ,"tên gọi một\ntên gọi hai",<b>50.000 đồng</b>\n'
    table += "thu nghiem b,Thủ tục B,cán bộ,,\n"
    table += "thu-nghiem.c,Thủ tục thử nghiệm C,,,\n"

    report = upload(client, editor, "bang.csv", table.encode()).json()

    assert report["created"] == ["thu-nghiem.a"]
    assert [r["row"] for r in report["rejected"]] == [4, 5]
    assert "id" in report["rejected"][0]["reason"] and "source" in report["rejected"][1]["reason"]
    record = catalogue_store.record(console_engine, "thu-nghiem.a")
    assert record is not None and record.status == "draft"
    assert record.data["aliases"] == ["tên gọi một", "tên gọi hai"] and record.data["fees"] == "50.000 đồng"


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("hong.xlsx", b"PK\x03\x04 not really a workbook", 422, "Excel"),
        ("cat-ngang.xlsx", None, 422, "Excel"),  # a real workbook cut in half
        ("loi.json", '[{"id": "a", "name": "Thủ tục A", '.encode(), 422, "JSON"),
        ("sai-cot.csv", b"ma,ten\na,b\n", 422, "cột"),
        ("virus.exe", b"MZ", 422, "định dạng"),
        ("rong.csv", b"", 422, "rỗng"),
        ("qua-lon.json", b"[" + b" " * (1100 * 1024) + b"]", 413, None),
    ],
)
def test_a_broken_or_oversized_file_changes_nothing(
    client: TestClient,
    console_engine: Engine,
    editor: dict[str, str],
    seed: list[Procedure],
    name: str,
    data: bytes | None,
    status: int,
    words: str | None,
) -> None:
    catalogue_store.seed_if_empty(console_engine, seed[:3])
    before = state_of(console_engine)
    if data is None:
        whole = xlsx(
            [["id", "name", "source"], *[[f"x.{i}", f"Thủ tục số {i}", "kiểm thử"] for i in range(200)]]
        )
        data = whole[: len(whole) // 2]

    response = upload(client, editor, name, data)

    assert response.status_code == status, response.text
    if words:
        assert words in response.json()["message"] and "không thay đổi" in response.json()["message"]
    assert state_of(console_engine) == before


def test_more_rows_than_the_cap_is_refused_whole(
    client: TestClient, console_engine: Engine, editor: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.console import imports

    monkeypatch.setattr(imports, "MAX_ROWS", 10)
    rows = [{"id": f"x.{i}", "name": f"Thủ tục số {i}", "source": "kiểm thử"} for i in range(11)]
    for name, data in (
        ("nhieu.json", json.dumps(rows).encode()),
        ("nhieu.xlsx", xlsx([["id", "name", "source"], *[list(r.values()) for r in rows]])),
    ):
        response = upload(client, editor, name, data)
        assert response.status_code == 422 and "quá 10 dòng" in response.json()["message"], name
    assert catalogue_store.records(console_engine) == []


def test_export_neutralises_formulas_and_reads_back_unchanged(
    client: TestClient, console_engine: Engine, editor: dict[str, str]
) -> None:
    risky = {
        "id": "thu-nghiem.cong-thuc",
        "name": "Thủ tục có ô nguy hiểm",
        "aliases": FORMULAS[:2],
        "fees": FORMULAS[2],
        "where": FORMULAS[3],
        "result": FORMULAS[4],
        "source": "=cmd|' /C calc'!A0",
    }
    assert client.post("/api/admin/procedures", json=risky, headers=editor).status_code == 200

    workbook = client.get("/api/admin/export.xlsx")
    table = client.get("/api/admin/export.csv")

    assert workbook.status_code == 200 and "attachment" in workbook.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert cells and all(c.data_type == "s" for c in cells)  # no formula anywhere
    header = [c.value for c in next(sheet.iter_rows())]
    row = {header[i]: c.value for i, c in enumerate(next(sheet.iter_rows(min_row=2)))}
    assert row["fees"] == "'-1+1" and row["where"] == "'@SUM(A1:A2)" and row["result"] == "'- Giấy xác nhận"
    assert row["source"] == "'=cmd|' /C calc'!A0"
    assert str(row["aliases"]).splitlines()[0] == "'" + FORMULAS[0]

    lines = list(csv.DictReader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert lines[0]["fees"] == "'-1+1" and lines[0]["source"].startswith("'=")
    assert all(
        not v.startswith(("=", "+", "-", "@", "\t", "\r")) for line in lines for v in line.values() if v
    )
    assert neutralise_cell("\tẩn") == "'\tẩn" and neutralise_cell("\r=1") == "'\r=1"

    # Imported back, the cells are what the operator typed: nothing changes.
    before = state_of(console_engine)
    for name, data in (("lai.xlsx", workbook.content), ("lai.csv", table.content)):
        report = upload(client, editor, name, data).json()
        assert report["unchanged"] == [risky["id"]] and report["rejected"] == [], report
    assert state_of(console_engine) == before
    assert {e["detail"]["format"] for e in audit.entries(console_engine, action="catalogue.export")} == {
        "xlsx",
        "csv",
    }
