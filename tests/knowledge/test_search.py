import json
import time
from pathlib import Path

import pytest

from knowledge import index
from knowledge.models import Procedure
from knowledge.normalize import fold
from knowledge.search import IndexNotReady, QueryError, Searcher


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Đăng ký thường trú cho vợ về nhà chồng", "dvc-612362818d18c024c839e7ce"),
        ("dang ky thuong tru cho vo", "dvc-612362818d18c024c839e7ce"),
        ("làm lại căn cước bị mất thì sao", "cancuoc.cap-lai"),
        ("lam lai can cuoc bi mat thi sao", "cancuoc.cap-lai"),
        ("mất cccd làm lại ở đâu", "cancuoc.cap-lai"),
        ("đổi bằng lái xe máy hết hạn", "gplx.doi"),
        ("dk ket hon can giay to gi", "hotich.ket-hon"),
        ("bố mất rồi làm giấy khai tử", "hotich.khai-tu"),
    ],
)
def test_citizen_questions_find_the_right_procedure_first(
    searcher: Searcher, query: str, expected: str
) -> None:
    result = searcher.search(query, top=3)
    assert result.results[0].id == expected, [h.id for h in result.results]


@pytest.mark.parametrize(
    ("accented", "expected"),
    [
        ("đăng ký tạm trú cho người thuê trọ cần gì không", "cutru.tam-tru"),
        ("làm hộ chiếu cho con nhỏ được không", "xnc.ho-chieu"),
        ("cấp lại thẻ bảo hiểm y tế bị mất thì làm sao", "bhyt.cap-lai-doi-the"),
        ("người già trên 80 tuổi được trợ cấp không", "btxh.tro-cap-nguoi-cao-tuoi"),
    ],
)
def test_dense_channel_finds_the_same_procedure_when_typed_without_marks(
    searcher: Searcher, accented: str, expected: str
) -> None:
    # Typed as on a phone: no marks, "ko"/"dc" (which normalisation expands to "không",
    # "được" and so would hide that the rest was typed unaccented).
    unaccented = fold(accented).replace("khong", "ko").replace("duoc", "dc")
    for query in (accented, unaccented):
        assert searcher.search(query, top=1, mode="dense").results[0].id == expected, query


def test_typos_are_tolerated(searcher: Searcher) -> None:
    result = searcher.search("dnag ky khia sinh cho con", top=3)
    assert any("khai sinh" in h.name.lower() for h in result.results[:1])


def test_out_of_scope_questions_get_no_match(searcher: Searcher) -> None:
    for query in ("giá vàng hôm nay bao nhiêu", "đội tuyển việt nam đá mấy giờ"):
        assert searcher.search(query).decision == "no_match", query


def test_results_carry_score_section_and_url_shape(searcher: Searcher) -> None:
    result = searcher.search("lệ phí làm hộ chiếu", top=5)
    payload = result.public()
    assert payload["decision"] in {"confident", "ambiguous", "no_match"}
    first = payload["results"][0]
    assert set(first) >= {"id", "name", "score", "url", "section"}
    assert result.results[0].id == "xnc.ho-chieu"
    scores = [h["score"] for h in payload["results"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("query", ["", "   ", "\x00\x01\x02", "x" * 10_000, None, 42])
def test_bad_queries_get_a_clear_error(searcher: Searcher, query: object) -> None:
    with pytest.raises(QueryError) as error:
        searcher.search(query)  # type: ignore[arg-type]
    assert "Câu hỏi" in str(error.value)


def test_no_index_means_not_ready(tmp_path: Path) -> None:
    searcher = Searcher(tmp_path / "none")
    assert not searcher.ready
    with pytest.raises(IndexNotReady):
        searcher.search("khai sinh")


def test_published_index_is_described_and_swapped_without_restart(tmp_path: Path, seed, encoder) -> None:
    root = tmp_path / "index"
    small = [p for p in seed if p.id.startswith("hotich.")]
    first = index.build(small, encoder, root)
    meta = index.read_meta(root)
    assert meta is not None
    assert meta["encoder"] == encoder.name and meta["dim"] == 384 and meta["count"] == len(small)
    assert {"catalogue_hash", "built_at", "passages"} <= set(meta)
    searcher = Searcher(root, encoder_factory=lambda: encoder)
    assert searcher.search("đăng ký kết hôn").results[0].id == "hotich.ket-hon"
    assert searcher.procedure("cancuoc.cap-lai") is None

    new = Procedure(
        id="test.cho-meo",
        name="Đăng ký nuôi mèo cảnh trong khu dân cư",
        aliases=["nuôi mèo cảnh"],
        source="test",
    )
    time.sleep(0.01)
    second = index.build([*small, new], encoder, root)
    assert second != first and index.current_version(root) == second.name
    assert searcher.search("đăng ký nuôi mèo cảnh").results[0].id == "test.cho-meo"
    assert not index.catalogue_changed(root, [*small, new], encoder.name)
    assert index.catalogue_changed(root, small, encoder.name)
    # An index an older version of the code built is rebuilt even if the catalogue is the same.
    stale = {**json.loads((second / "meta.json").read_text(encoding="utf-8")), "format": index.FORMAT - 1}
    (second / "meta.json").write_text(json.dumps(stale), encoding="utf-8")
    assert index.catalogue_changed(root, [*small, new], encoder.name)


def test_drafts_are_not_indexed(tmp_path: Path, seed, encoder) -> None:
    draft = seed[0].model_copy(update={"status": "draft"})
    published = seed[1:4]
    index.build([draft, *published], encoder, tmp_path)
    assert Searcher(tmp_path, encoder_factory=lambda: encoder).procedure(draft.id) is None


def test_a_text_shared_by_procedures_is_encoded_once_and_finds_each_of_them(tmp_path: Path, encoder) -> None:
    procedures = [
        Procedure(id="t.tinh", name="Cấp giấy phép kinh doanh karaoke (cấp tỉnh)", aliases=["xin phép mở karaoke"], source="test"),
        Procedure(id="t.xa", name="Cấp giấy phép kinh doanh karaoke (cấp xã)", aliases=["xin phép mở karaoke"], source="test"),
        Procedure(id="t.khai-tu", name="Đăng ký khai tử", aliases=["làm giấy báo tử cho người nhà"], source="test"),
    ]  # fmt: skip
    index.build(procedures, encoder, tmp_path)
    meta = index.read_meta(tmp_path)
    assert meta is not None and meta["distinct_dense_texts"] == meta["dense_vectors"] - 1
    searcher = Searcher(tmp_path, encoder_factory=lambda: encoder)
    karaoke = searcher.search("xin phép mở karaoke", top=3, mode="dense")
    assert {h.id for h in karaoke.results[:2]} == {"t.tinh", "t.xa"}
    assert searcher.search("làm giấy báo tử", top=1, mode="dense").results[0].id == "t.khai-tu"
