"""knowledge.facts on real inputs of the national export (fees and times per channel)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.facts import (
    FREE,
    completeness,
    format_fees,
    format_processing_time,
    format_quantity,
    problems,
    text_problems,
)
from knowledge.models import Document, Procedure

D, ON, P = "Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính"


@pytest.mark.parametrize(
    ("ways", "expected"),
    [
        # the same fee on three channels is said once, with a thousands separator
        ([(D, "Lệ phí: 200000 ĐồngXem chi tiết")] * 3, "200.000 đồng"),
        # several amounts in one channel: the cases behind "Xem chi tiết" are not in the export
        (
            [(ON, "Phí: 250000 ĐồngXem chi tiết Phí: 500000 ĐồngXem chi tiết")],
            "250.000 đồng hoặc 500.000 đồng, tùy trường hợp",
        ),
        # phí and lệ phí together, a repeated entry said once, no repeated label
        (
            [
                (
                    D,
                    "Phí: 250.000 ĐồngXem chi tiết Lệ phí: 150.000 ĐồngXem chi tiết Lệ phí: 150.000 ĐồngXem chi tiết "
                    "Lệ phí: 200.000 ĐồngXem chi tiết",
                )
            ]
            * 2,
            "Phí 250.000 đồng; lệ phí 150.000 đồng hoặc 200.000 đồng, tùy trường hợp",
        ),
        # a long list of amounts becomes a range
        (
            [
                (
                    D,
                    " ".join(
                        f"Phí: {a} ĐồngXem chi tiết"
                        for a in [
                            "150.000",
                            "500.000",
                            "600.000",
                            "700.000",
                            "1.200.000",
                            "1.300.000",
                            "1.400.000",
                        ]
                    ),
                )
            ],
            "Từ 150.000 đồng đến 1.400.000 đồng, tùy trường hợp",
        ),
        # a unit after the amount is kept, the glued "Đồng" column is not
        (
            [(D, "Lệ phí: 50.000 đồng/lần ĐồngXem chi tiết Lệ phí: 20.000 đồng/lần ĐồngXem chi tiết")],
            "50.000 đồng/lần hoặc 20.000 đồng/lần, tùy trường hợp",
        ),
        # channels that differ are grouped by channel; equal channels share one group
        (
            [(D, "Lệ phí: 50000 Đồng"), (P, "Lệ phí: 50000 Đồng"), (ON, "Lệ phí: 25000 Đồng")],
            "Nộp trực tiếp, qua bưu chính: 50.000 đồng; nộp trực tuyến: 25.000 đồng",
        ),
        # zero on every channel is free (the national database means it) ...
        ([(D, "Lệ phí: 0 ĐồngXem chi tiết"), (ON, "Lệ phí: 0 ĐồngXem chi tiết")], FREE),
        ([(D, "Phí: Không Đồng")], FREE),
        # ... but a zero beside channels that state nothing is not a statement about them
        (
            [
                (D, "Lệ phí: ĐồngXem chi tiết"),
                (ON, "Lệ phí: ĐồngXem chi tiết"),
                (P, "Lệ phí: 0 ĐồngXem chi tiết"),
            ],
            None,
        ),
        # "theo quy định" alone, empty labels and empty strings state nothing
        ([(D, "Lệ phí: theo quy định"), (P, "Lệ phí: Theo quy định")], None),
        ([(D, "Phí: ĐồngXem chi tiết"), (ON, "Phí: Đồng")], None),
        ([(D, ""), (ON, "")], None),
        ([], None),
        # a sentence keeps its words, loses its label, bullets and the glued unit
        (
            [
                (
                    D,
                    "Lệ phí: - Đối với trường hợp đăng ký khai sinh không đúng hạn: theo mức thu lệ phí do Hội đồng "
                    "nhân dân cấp tỉnh quy định. - Miễn lệ phí đối với trường hợp khai sinh đúng hạn. Đồng",
                )
            ]
            * 3,
            "Đối với trường hợp đăng ký khai sinh không đúng hạn: theo mức thu lệ phí do Hội đồng nhân dân "
            "cấp tỉnh quy định. Miễn lệ phí đối với trường hợp khai sinh đúng hạn.",
        ),
    ],
)
def test_fees_read_as_short_plain_vietnamese(ways: list[tuple[str, str]], expected: str | None) -> None:
    value = format_fees(ways)
    assert value == expected
    if value is not None:
        assert text_problems(value) == []


@pytest.mark.parametrize(
    ("ways", "other", "expected"),
    [
        ([(D, "07 Ngày làm việc"), (ON, "07 Ngày làm việc")], "", "7 ngày làm việc"),
        ([(D, "5 Ngày")] * 3, "", "5 ngày"),
        ([(D, "1 Tháng")], "", "1 tháng"),
        ([(D, "0"), (ON, "0"), (P, "0")], "", None),
        ([(D, "1")], "", None),
        ([(D, "30"), (ON, "30")], "", None),
        ([(D, "khác")], "", None),
        ([(D, "Khác")], "", None),
        ([(D, "Không xác định")], "", None),
        ([(D, "Chưa quy định cụ thể.")], "", None),
        ([(D, "")], "", None),
        # the description of the same record may state what the time column does not
        (
            [(D, "0")],
            "- Nộp hồ sơ trực tiếp tại UBND cấp xã. Thời hạn giải quyết: 05 ngày làm việc kể từ ngày nhận đủ hồ sơ.",
            "5 ngày làm việc",
        ),
        # a deadline for someone else in the description is not the processing time
        ([(D, "1")], "Trong thời hạn 15 ngày kể từ ngày nhập học, sinh viên nộp hồ sơ.", None),
        (
            [(D, "03 ngày làm việc, trường hợp phải xác minh thì không quá 08 ngày làm việc.")],
            "",
            "3 ngày làm việc, trường hợp phải xác minh thì không quá 8 ngày làm việc.",
        ),
        (
            [(D, "Tối đa 6 ngày làm việc kể từ ngày cơ quan BHXH nhận đủ hồ sơ theo quy định.")] * 3,
            "",
            "Tối đa 6 ngày làm việc kể từ ngày cơ quan BHXH nhận đủ hồ sơ theo quy định.",
        ),
        (
            [
                (
                    D,
                    "- Tối đa 15 ngày làm việc. - Trường hợp hồ sơ chưa đầy đủ thì kéo dài thêm không quá 02 ngày làm việc.",
                )
            ],
            "",
            "Tối đa 15 ngày làm việc. Trường hợp hồ sơ chưa đầy đủ thì kéo dài thêm không quá 2 ngày làm việc.",
        ),
        # different times on different channels are grouped by channel
        (
            [(D, "03 Ngày làm việc"), (ON, "02 Ngày làm việc")],
            "",
            "Nộp trực tiếp: 3 ngày làm việc; nộp trực tuyến: 2 ngày làm việc",
        ),
    ],
)
def test_processing_time_keeps_units_and_drops_bare_numbers(
    ways: list[tuple[str, str]], other: str, expected: str | None
) -> None:
    value = format_processing_time(ways, other_text=other)
    assert value == expected
    if value is not None:
        assert text_problems(value) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bản chính: 1 - Bản sao: 0", "1 bản chính"),
        ("Bản chính: 0 - Bản sao: 1", "1 bản sao"),
        ("Bản chính: 1 - Bản sao: 1", "1 bản chính, 1 bản sao"),
        ("Bản chính: 2 - Bản sao: 0", "2 bản chính"),
        ("Bản chính: 0 - Bản sao: 0", None),
        ("", None),
    ],
)
def test_document_quantity_drops_zero_counts(raw: str, expected: str | None) -> None:
    assert format_quantity(raw) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Thời gian giải quyết: 0", 'số "0"'),
        ("Phí: 250.000 Đồng Lệ phí: 150.000 Đồng Lệ phí: 150.000 Đồng", "nhãn lặp lại"),
        ("Trực tiếp: Lệ phí: theo quy định; Dịch vụ bưu chính: Lệ phí: Theo quy định", "nhãn lặp lại"),
        ("Nộp tại <b>UBND</b> xã", "HTML"),
        ("Nộp tại UBND&nbsp;xã", "HTML"),
        ("Các bước:\n1. Nộp hồ sơ\n-\n2. Nhận kết quả", "gạch đầu dòng rỗng"),
        ("Lệ phí: None", "None"),
        ("Phí: ĐồngXem chi tiết", "rác"),
    ],
)
def test_text_problems_catch_what_reads_badly(text: str, problem: str) -> None:
    assert any(problem in found for found in text_problems(text))


@pytest.mark.parametrize(
    "text",
    [
        "Lệ phí: 200.000 đồng",
        "Lệ phí trước bạ 0,5% giá tính lệ phí",
        "Không thu phí (0 đồng theo Cổng Dịch vụ công quốc gia)",
        "Thông tư 85/2019/TT-BTC, ngày 01/7/2025",
        "Nộp ở Đồng Nai hoặc Đồng Tháp",
    ],
)
def test_text_problems_leave_clean_text_alone(text: str) -> None:
    assert text_problems(text) == []


def _procedure(**fields: object) -> Procedure:
    return Procedure.model_validate({"id": "t.one", "name": "Thủ tục thử", "source": "test", **fields})


def test_problems_name_each_defect_of_a_record() -> None:
    record = _procedure(
        fees="Lệ phí: theo quy định",
        processing_time="0",
        steps=["Nộp hồ sơ", " - "],
        documents=[Document(name="Tờ khai", quantity="Bản chính: 1 - Bản sao: 0")],
        where="<p>UBND xã</p>",
    )
    found = problems(record)
    assert any(f.startswith("fees:") and "theo quy định" in f for f in found)
    assert any(f.startswith("fees:") and "nhãn" in f for f in found)
    assert any(f.startswith("processing_time:") and "đơn vị" in f for f in found)
    assert "steps[2]: mục rỗng" in found
    assert any(f.startswith("documents[1]:") and '"0"' in f for f in found)
    assert any(f.startswith("where:") and "HTML" in f for f in found)
    assert (
        problems(_procedure(fees="200.000 đồng", processing_time="7 ngày làm việc", steps=["Nộp hồ sơ"]))
        == []
    )


def test_completeness_counts_clean_facts_over_published_records() -> None:
    records = [
        _procedure(
            id="a",
            processing_time="7 ngày làm việc",
            fees="0",
            legal_basis=["Luật Cư trú"],
            agency="Công an xã",
        ),
        _procedure(id="b", processing_time="khác", url="https://dichvucong.gov.vn/p/1", steps=["Nộp"]),
        _procedure(id="c", processing_time="3 ngày", status="draft"),
    ]
    result = completeness(records)
    assert result["processing_time"] == {"filled": 1, "total": 2, "share": 0.5}  # "khác" is not a time
    assert result["fees"]["filled"] == 0  # a bare "0" is not a fee
    assert result["legal_basis"]["filled"] == 1 and result["url"]["filled"] == 1
    assert result["where"]["filled"] == 1  # the agency counts when no place is given
    assert result["steps"]["filled"] == 1 and result["documents"]["filled"] == 0
    assert set(result) == {
        "processing_time",
        "fees",
        "legal_basis",
        "url",
        "documents",
        "where",
        "steps",
        "channels",
    }
    assert completeness([])["fees"] == {"filled": 0, "total": 0, "share": 0.0}


# Fragments as the export writes them, combined at random per channel.
_FEE_PARTS = [
    "Phí: 250000 ĐồngXem chi tiết",
    "Lệ phí: 150.000 ĐồngXem chi tiết",
    "Lệ phí: 0 ĐồngXem chi tiết",
    "Phí: ĐồngXem chi tiết",
    "Lệ phí: theo quy định",
    "Phí: Không Đồng",
    "Lệ phí: 50.000 đồng/lần ĐồngXem chi tiết",
    "Lệ phí: - Miễn lệ phí đối với trường hợp đúng hạn. - Trường hợp khác theo mức do HĐND cấp tỉnh quy định. Đồng",
    "",
]
_TIME_PARTS = [
    "0",
    "1",
    "30",
    "khác",
    "Không xác định",
    "07 Ngày làm việc",
    "5 Ngày",
    "1 Tháng",
    "",
    "Không quy định",
]


@given(
    st.lists(
        st.tuples(
            st.sampled_from([D, ON, P]), st.lists(st.sampled_from(_FEE_PARTS), max_size=4).map(" ".join)
        ),
        max_size=3,
    )
)
def test_any_mix_of_export_fee_fragments_reads_cleanly_or_is_unknown(ways: list[tuple[str, str]]) -> None:
    value = format_fees(ways)
    if value is not None:
        assert value.strip() and text_problems(value) == []
        assert not value.lower().startswith(("phí:", "lệ phí:"))
        if value == FREE:  # free only when every channel stated zero (a channel listed twice is one)
            zero = {channel for channel, raw in ways if "0 Đồng" in raw or "Không Đồng" in raw}
            assert ways and zero == {channel for channel, _ in ways}
            assert not re.search(r"[1-9][\d.]* ?(?:Đồng|đồng)|HĐND", " ".join(raw for _, raw in ways))


@given(st.lists(st.tuples(st.sampled_from([D, ON, P]), st.sampled_from(_TIME_PARTS)), max_size=3))
def test_any_mix_of_export_times_keeps_a_unit_or_is_unknown(ways: list[tuple[str, str]]) -> None:
    value = format_processing_time(ways)
    if value is not None:
        assert text_problems(value) == []
        assert re.search(r"\d+ (ngày|tháng)", value)


def test_phi_and_le_phi_with_a_sentence_read_as_one_sentence() -> None:
    value = format_fees(
        [(D, "Phí: 100000 Đồng Lệ phí: Theo mức thu do Hội đồng nhân dân cấp tỉnh quy định. Đồng")]
    )
    assert value == "Phí 100.000 đồng; lệ phí theo mức thu do Hội đồng nhân dân cấp tỉnh quy định."
    assert format_fees([("", "Lệ phí: 5000 Đồng"), (D, "Lệ phí: 10000 Đồng")]) == (
        "Nộp theo cách khác: 5.000 đồng; nộp trực tiếp: 10.000 đồng"
    )
