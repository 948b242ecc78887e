import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from knowledge import catalogue_store
from knowledge.catalogue import load_seed
from knowledge.importers.dvc_json import read_file
from knowledge.importers.native import read_any
from knowledge.importers.report import ImportFileError
from tests.conftest import SHARED_DATA


def test_the_real_shared_file_is_cleaned_merged_and_fully_accounted_for() -> None:
    raw = json.loads(SHARED_DATA.read_text(encoding="utf-8"))
    result = read_file(SHARED_DATA)
    # nothing silently dropped: every record is imported, merged or rejected
    assert len(result.procedures) + len(result.merged) + len(result.rejected) == len(raw) == 87
    assert len(result.merged) == 2 and not result.rejected
    text = json.dumps([p.model_dump(mode="json") for p in result.procedures], ensure_ascii=False)
    assert "Xem chi tiết" not in text and "</p>" not in text
    residence = next(p for p in result.procedures if p.name == "Đăng ký thường trú")
    assert residence.level == "commune" and residence.processing_time == "7 ngày làm việc"
    assert residence.fees is None  # "Phí: ĐồngXem chi tiết" says nothing: unknown, not invented
    assert residence.documents[0].quantity == "1 bản chính"  # "Bản chính: 1 - Bản sao: 0"
    by_name = {p.name: p for p in result.procedures}
    # "Phí: 250.000 ĐồngXem chi tiết Lệ phí: 150.000 … Lệ phí: 150.000 … Lệ phí: 200.000 …" on two channels
    assert by_name["Thủ tục cấp Chứng chỉ hành nghề dịch vụ đại diện sở hữu công nghiệp"].fees == (
        "Phí 250.000 đồng; lệ phí 150.000 đồng hoặc 200.000 đồng, tùy trường hợp"
    )
    # "0" / "1" without a unit and "Khác" state no time limit
    assert by_name["Xét cấp bằng tiến sĩ"].processing_time is None
    tax = next(p for p in result.procedures if p.name.startswith("Khai thuế thu nhập cá nhân"))
    assert tax.processing_time is None  # "0" on every channel
    assert residence.source.endswith("612362818d18c024c839e7ce")
    assert any("huyện" in w for w in result.warnings)  # outdated district-level agencies are flagged


def test_seed_catalogue_has_at_least_150_valid_procedures(seed) -> None:
    assert len(seed) >= 150
    assert len({p.id for p in seed}) == len(seed)
    assert all(p.source for p in seed)


def test_import_reports_and_reimport_updates_instead_of_duplicating(engine, tmp_path: Path) -> None:
    report = catalogue_store.import_parsed(engine, read_file(SHARED_DATA), actor="test")
    assert len(report.created) == 85 and not report.updated
    again = catalogue_store.import_parsed(engine, read_file(SHARED_DATA), actor="test")
    assert not again.created and len(again.unchanged) == 85
    assert catalogue_store.count(engine) == 85


def test_reimport_keeps_operator_curation_and_records_revisions(engine) -> None:
    seed = {p.id: p for p in load_seed()}
    curated = seed["dvc-612362818d18c024c839e7ce"]
    catalogue_store.import_parsed(engine, read_file(SHARED_DATA), actor="import")
    with engine.begin() as connection:
        catalogue_store.save(connection, curated, actor="operator-lan")
    catalogue_store.import_parsed(engine, read_file(SHARED_DATA), actor="import")
    stored = catalogue_store.get(engine, curated.id)
    assert stored is not None and stored.aliases == curated.aliases
    history = catalogue_store.revisions(engine, curated.id)
    assert [r["actor"] for r in history][:2] == ["import", "operator-lan"]
    assert "aliases" in history[1]["changed_fields"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.json", b'[{"title": "x",', "JSON lỗi"),
        ("latin1.json", '[{"title": "Đăng ký"}]'.encode("cp1258", errors="replace") + b"\xff", "UTF-8"),
        ("object.json", b'{"not": "a list"}', "danh sách"),
        ("notes.txt", b"hello", "định dạng"),
        ("broken.yml", b"- id: [unclosed", "YAML"),
    ],
)
def test_malformed_files_are_rejected_whole_with_a_clear_message(
    engine, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        read_any(path)
    assert catalogue_store.count(engine) == 0


def test_bad_rows_are_rejected_with_row_and_reason_good_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    path.write_text(
        json.dumps(
            [
                {"id": "a.one", "name": "Thủ tục một", "source": "test"},
                {"id": "bad id!", "name": "Sai mã", "source": "test"},
                {"id": "a.two", "name": "Thủ tục hai", "source": "test", "level": "district"},
                {
                    "id": "a.three",
                    "name": "<b>Thủ tục</b> ba",
                    "source": "test",
                    "fees": "Phí: 50.000 ĐồngXem chi tiết",
                },
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    result = read_any(path)
    assert [p.id for p in result.procedures] == ["a.one", "a.three"]
    assert [r.row for r in result.rejected] == [2, 3]
    assert "level" in result.rejected[1].reason
    assert result.procedures[1].name == "Thủ tục ba" and result.procedures[1].fees == "Phí: 50.000 Đồng"


def test_csv_and_xlsx_tables_import(tmp_path: Path) -> None:
    csv_path = tmp_path / "p.csv"
    csv_path.write_text(
        "id,name,source,aliases,documents\n"
        'x.csv,Đăng ký tạm trú,test,"tam tru\ndk tạm trú","Tờ khai CT01 | CT01 | https://example.gov.vn/ct01"\n',
        encoding="utf-8",
    )
    result = read_any(csv_path)
    assert result.procedures[0].aliases == ["tam tru", "dk tạm trú"]
    assert result.procedures[0].documents[0].form_url == "https://example.gov.vn/ct01"

    book = Workbook()
    sheet = book.active
    sheet.append(["id", "name", "source", "fees"])
    sheet.append(["x.xlsx", "Cấp lại thẻ căn cước", "test", "70.000 đồng"])
    sheet.append(["", "", "", ""])
    sheet.append(["x.bad", "ab", "test", None])
    book.save(tmp_path / "p.xlsx")
    result = read_any(tmp_path / "p.xlsx")
    assert [p.id for p in result.procedures] == ["x.xlsx"]
    assert result.rejected[0].row == 4
