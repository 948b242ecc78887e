"""The core of a question: place mentions taken out before retrieval.

Citizens wrap their need in their story ("tôi ở phường Bến Nghé quận 1 cũ, bà ngoại
mất căn cước"). The place says nothing about which procedure is meant, yet its words
are shared with procedure names ("Bến", "Nghé", "quận") and pull the search toward the
wrong records. Pure functions, no I/O:

    focus("tôi ở phường Bến Nghé quận 1 cũ, làm khai sinh ở đâu")
        -> "tôi làm khai sinh ở đâu"
    focus("o xa tan lap huyen dan phuong lam lai cccd")
        -> "lam lai cccd"
    place_spans("bảo hiểm xã hội")  -> []      (xã hội is not a commune)
"""

from __future__ import annotations

import re

from knowledge.normalize import clean, fold, typed_without_diacritics, word_set

# Markers of an administrative unit, as typed (lower case). Matched on the accented form,
# or on the folded form when the asker typed without marks (see _FOLDED_GUARDS).
_MARKERS = (
    "tổ dân phố",
    "thành phố",
    "thị trấn",
    "khu phố",
    "thị xã",
    "phường",
    "quận",
    "huyện",
    "tỉnh",
    "thôn",
    "xóm",
    "ấp",
    "xã",
    "tp.",
    "tx.",
    "tt.",
    "tp",
    "tx",
    "p.",
    "q.",
    "h.",
)
# Folded markers collide with common words: "quân sự", "phương tiện", "tình trạng",
# "xã hội", "địa phương". A folded marker followed (or preceded) by these is not a place.
_FOLDED_GUARDS: dict[str, frozenset[str]] = {
    "phuong": frozenset({"tien", "thuc", "an", "phap", "huong", "dong", "tay", "nam", "bac"}),
    "quan": frozenset({"su", "doi", "nhan", "he", "ly", "tam", "trong", "ao", "ham", "khu", "chung", "doan"}),
    "xa": frozenset({"hoi", "nhau", "lo", "xa"}),
    "tinh": frozenset(
        {"trang", "toan", "than", "cam", "chat", "tu", "hinh", "nguyen", "thue", "tien", "luong", "lai"}
    ),
    "huyen": frozenset(),
    "thon": frozenset({"tin"}),
    "thanh pho": frozenset(),
    "thi xa": frozenset(),
    "thi tran": frozenset(),
    "khu pho": frozenset(),
}
_FOLDED_BEFORE_GUARDS = {"phuong": frozenset({"dia", "song", "hai"}), "quan": frozenset({"co", "can"})}
# Provinces and centrally-run cities, old (63) and today's (34) names, folded, syllables
# joined by "_"; matched as
# whole multi-syllable runs so that no single common word is taken for a place.
PROVINCES = word_set(
    """an_giang ba_ria_vung_tau ba_ria vung_tau bac_giang bac_kan bac_lieu bac_ninh
    ben_tre binh_dinh binh_duong binh_phuoc binh_thuan ca_mau can_tho cao_bang
    da_nang dak_lak dak_nong dien_bien dong_nai dong_thap gia_lai ha_giang
    ha_nam ha_noi ha_tinh hai_duong hai_phong hau_giang hoa_binh hung_yen
    khanh_hoa kien_giang kon_tum lai_chau lam_dong lang_son lao_cai long_an
    nam_dinh nghe_an ninh_binh ninh_thuan phu_tho phu_yen quang_binh quang_nam
    quang_ngai quang_ninh quang_tri soc_trang son_la tay_ninh thai_binh thai_nguyen
    thanh_hoa thua_thien_hue tien_giang tra_vinh tuyen_quang vinh_long vinh_phuc yen_bai
    ho_chi_minh sai_gon tphcm hcm"""
)
_PROVINCE_WORDS = max(len(p.split("_")) for p in PROVINCES)
# Words that end a place name typed in lower case (the name is at most two syllables).
_NAME_STOP = word_set(
    """toi minh em con ban la thi muon can lam o tai va de cho thi co khong cu moi nay do nhe a
    ah oi vay roi nhung duoc phai se dang da bi"""
)
# Words that introduce a place ("ở", "tại", "quê", "thuộc") and leave with it.
_PLACE_LEADS = word_set("o tai thuoc que ve")
_TOKEN = re.compile(r"\w+\.?|[^\w\s]", re.UNICODE)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(clean(text))


def _marker_at(low: list[str], folded: list[str], i: int, unaccented: bool) -> int:
    """Length of the unit marker starting at token ``i`` (0 when none)."""
    for marker in _MARKERS:
        parts = marker.split()
        if low[i : i + len(parts)] == parts:
            if parts == ["xã"] and i + 1 < len(low) and low[i + 1] == "hội":
                return 0
            return len(parts)
    if not unaccented:
        return 0
    for marker, guards in _FOLDED_GUARDS.items():
        parts = marker.split()
        if folded[i : i + len(parts)] != parts:
            continue
        after = folded[i + len(parts)] if i + len(parts) < len(folded) else ""
        before = folded[i - 1] if i else ""
        if after in guards or before in _FOLDED_BEFORE_GUARDS.get(marker, frozenset()):
            return 0
        return len(parts)
    return 0


def _name_length(raw: list[str], folded: list[str], start: int) -> int:
    """How many tokens after a marker form the unit's name."""
    if start >= len(raw):
        return 0
    if raw[start].isdigit():
        return 1
    if raw[start][:1].isupper():
        n = 0
        while start + n < len(raw) and raw[start + n][:1].isupper() and n < 4:
            n += 1
        return n
    n = 0
    while start + n < len(raw) and n < 2 and raw[start + n].isalpha() and folded[start + n] not in _NAME_STOP:
        n += 1
    return n


def place_spans(text: str) -> list[tuple[int, int]]:
    """Token spans ``[start, end)`` of the place mentions in ``_tokens(text)``."""
    raw = _tokens(text)
    # A trailing dot is kept only on short tokens, where it marks an abbreviation ("p.").
    low = [t.lower() if len(t) <= 3 else t.lower().rstrip(".") for t in raw]
    folded = [fold(t).rstrip(".") for t in low]
    unaccented = typed_without_diacritics(text)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(raw):
        marker = _marker_at(low, folded, i, unaccented)
        if marker:
            end = i + marker + _name_length(raw, folded, i + marker)
            if end > i + marker:
                if end < len(raw) and folded[end] == "cu":
                    end += 1
                spans.append((i, end))
                i = end
                continue
        for n in range(_PROVINCE_WORDS, 1, -1):
            if "_".join(folded[i : i + n]) in PROVINCES and i + n <= len(raw):
                end = i + n + (1 if i + n < len(raw) and folded[i + n] == "cu" else 0)
                spans.append((i, end))
                i = end
                break
        else:
            if folded[i] in ("tphcm", "hcm"):
                spans.append((i, i + 1))
            i += 1
    return spans


def focus(text: str) -> str:
    """The question without its place mentions. Ages stay: "trên 80 tuổi" can be the need
    itself (the allowance for the very old); the coverage check ignores numbers anyway.

    Returns the cleaned text unchanged when nothing would be left.
    """
    raw = _tokens(text)
    folded = [fold(t.lower()) for t in raw]
    drop: set[int] = set()
    for start, end in place_spans(text):
        drop.update(range(start, end))
        # "ở phường X," / "tại xã Y": the preposition and the comma go with the place.
        while start > 0 and (folded[start - 1] in _PLACE_LEADS or start - 1 in drop):
            start -= 1
            drop.add(start)
        if end < len(raw) and raw[end] in (",", ";"):
            drop.add(end)
    kept = [t for i, t in enumerate(raw) if i not in drop]
    if not any(t[:1].isalnum() for t in kept):
        return clean(text)
    return " ".join(kept)
