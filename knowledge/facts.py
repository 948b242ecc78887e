"""Facts of a procedure as short plain Vietnamese, and how complete and clean they are.

Pure functions, no I/O. The national export states fees and processing times once per
submission channel ("Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính"), with labels,
scraping debris and bare numbers. This module turns those per-channel strings into one
short sentence, or ``None`` when the source states nothing:

    format_fees([("Trực tiếp", "Phí: 250000 ĐồngXem chi tiết Phí: 500000 ĐồngXem chi tiết")])
        -> "250.000 đồng hoặc 500.000 đồng, tùy trường hợp"
    format_fees([("Trực tiếp", "Lệ phí: 0 Đồng"), ("Trực tuyến", "Lệ phí: 0 Đồng")])
        -> "Không mất lệ phí"            (only when every channel says 0)
    format_fees([("Trực tiếp", "Lệ phí: theo quy định")])  -> None   (states nothing)
    format_processing_time([("Trực tiếp", "07 Ngày làm việc")]) -> "7 ngày làm việc"
    format_processing_time([("Trực tiếp", "0")])                -> None
    format_quantity("Bản chính: 1 - Bản sao: 0")                -> "1 bản chính"

Identical values across channels are said once; values that differ are grouped by
channel ("Nộp trực tiếp: 50.000 đồng; nộp trực tuyến: 25.000 đồng").

``problems(procedure)`` lists why a record does not read cleanly (bare "0", repeated
label, HTML, empty bullet, "theo quy định" alone, ...); ``text_problems(text)`` does the
same for any text shown to a citizen. ``completeness(procedures)`` counts, over the
published procedures, how many state each fact cleanly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from knowledge.models import Procedure
from knowledge.normalize import clean, fold

FREE = "Không mất lệ phí"
VARIES = "tùy trường hợp"

# Channel names of the export → how an answer names them (lower case, after "nộp").
_CHANNEL_WORDS = {
    "truc tiep": "trực tiếp",
    "truc tuyen": "trực tuyến",
    "dich vu buu chinh": "qua bưu chính",
    "buu chinh": "qua bưu chính",
}
_FEE_LABEL = re.compile(r"(?<![\w])(lệ\s*phí|phí)\s*:", re.IGNORECASE)
_AMOUNT = re.compile(
    r"^(?P<amount>\d{1,3}(?:[.,]\d{3})+|\d+)\s*(?:(?:đồng|đ|vnđ)\s*(?:/\s*(?P<per>[\wÀ-ỹ ]{1,20}))?)?$",
    re.IGNORECASE,
)
_TRAILING_UNIT = re.compile(r"\s*Đồng\s*$")  # the export's unit column, glued after every value
_NOTHING = re.compile(r"^(?:không|0+)$", re.IGNORECASE)
_AS_REGULATED = re.compile(r"^(?:theo\s+(?:quy\s+định|qui\s+định)(?:\s+hiện\s+hành)?)$", re.IGNORECASE)
_BULLET_START = re.compile(r"^\s*[-•*+–]\s*")
_INLINE_BULLET = re.compile(r"(?:(?<=[.;:])|^)\s*[-•*+–]\s+")
_SPACES = re.compile(r"\s+")

_SIMPLE_TIME = re.compile(
    r"^(?:trong\s+(?:vòng|thời\s+hạn)\s+|tối\s+đa\s+|không\s+quá\s+)?(?P<n>\d{1,3})\s*"
    r"(?P<unit>ngày\s+làm\s+việc|ngày|tháng|giờ\s+làm\s+việc|giờ|tuần|năm)$",
    re.IGNORECASE,
)
# Values that state no time limit at all (accent-folded, lower case, without final dot).
_NO_TIME = frozenset(
    [
        "khac",
        "khong xac dinh",
        "khong co",
        "khong quy dinh",
        "chua quy dinh",
        "chua quy dinh cu the",
        "theo quy dinh",
    ]
)
_LEADING_ZERO = re.compile(r"\b0+(\d+)(\s+(?:ngày|tháng|giờ|tuần|năm))", re.IGNORECASE)
_UNIT_CASE = re.compile(r"\b(Ngày làm việc|Ngày|Tháng|Giờ)\b")
# "thời hạn giải quyết (là) 05 ngày làm việc" in the description of the same record.
_STATED_TIME = re.compile(
    r"thời\s+hạn\s+giải\s+quyết\s*(?:là|:)?\s*(?:trong\s+vòng\s+|không\s+quá\s+|tối\s+đa\s+|trong\s+)?"
    r"(?P<n>\d{1,3})\s*(?P<unit>ngày\s+làm\s+việc|ngày|tháng)",
    re.IGNORECASE,
)

# --- checks on text shown to citizens -------------------------------------------------

_HTML = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>|&(?:nbsp|amp|lt|gt|quot|#\d+);")
_BARE_ZERO = re.compile(r"(?<![\w.,/])0(?![\w.,/%]|\s+đồng)")
_EMPTY_BULLET = re.compile(r"^\s*(?:[-•*+–]|\d{1,2}[.)])\s*$", re.MULTILINE)
_LABEL = re.compile(
    r"(?<![\w])((?:lệ\s+)?phí|thời\s+(?:hạn|gian)(?:\s+giải\s+quyết)?|trực\s+tiếp|trực\s+tuyến"
    r"|(?:dịch\s+vụ\s+)?bưu\s+chính|bản\s+chính|bản\s+sao|mô\s+tả)\s*:",
    re.IGNORECASE,
)
_NONE_WORD = re.compile(r"\bNone\b|\bnull\b|\bnan\b")
_DEBRIS = re.compile(r"(?i:xem chi tiết)|\d\s*Đồng\b|:\s*Đồng\b|\bKhông Đồng\b")

FACT_FIELDS = ("processing_time", "fees", "legal_basis", "url", "documents", "where", "steps", "channels")


@dataclass(frozen=True)
class _Fee:
    kind: str  # "phí" or "lệ phí"
    amount: int | None = None
    per: str | None = None
    text: str | None = None

    def render(self) -> str:
        if self.amount is not None:
            money = f"{self.amount:,}".replace(",", ".") + " đồng"
            return f"{money}/{self.per}" if self.per else money
        return self.text or ""


def _channel(name: str) -> str:
    return _CHANNEL_WORDS.get(fold(clean(name).lower()), clean(name).lower() or "theo cách khác")


def _sentence(text: str) -> str:
    """Inline bullets ("- a. - b") turned into plain sentences; spaces collapsed."""
    text = _INLINE_BULLET.sub(" ", text)
    text = _SPACES.sub(" ", text).strip(" ;,")
    if re.match(r"^\w\)", text):  # "a) …; b) …" keeps its list letters
        return text
    return text[:1].upper() + text[1:] if text else text


def _amount(value: str) -> int:
    return int(re.sub(r"[.,]", "", value))


def _fee_entries(raw: str) -> list[_Fee | None]:
    """The entries of one channel's fee string; ``None`` stands for a zero amount."""
    text = clean(raw)
    parts = _FEE_LABEL.split(text)
    # parts: [before, label, body, label, body, ...]; text before any label counts as "lệ phí".
    pieces = [("lệ phí", parts[0])] + [
        ("lệ phí" if "l" in fold(parts[i].lower()) else "phí", parts[i + 1])
        for i in range(1, len(parts) - 1, 2)
    ]
    out: list[_Fee | None] = []
    for kind, body in pieces:
        body = _BULLET_START.sub("", _TRAILING_UNIT.sub("", body).strip(" ;,")).strip()
        bare = body.rstrip(" .")
        if not bare or _AS_REGULATED.match(bare):
            continue
        if _NOTHING.match(bare):
            out.append(None)
            continue
        money = _AMOUNT.match(bare)
        if money:
            amount = _amount(money.group("amount"))
            per = (money.group("per") or "").strip() or None
            out.append(None if amount == 0 else _Fee(kind, amount, per))
            continue
        out.append(_Fee(kind, text=_sentence(body)))
    return out


def _render_fees(entries: list[_Fee]) -> str:
    kinds: dict[str, list[str]] = {}
    for entry in entries:
        rendered = entry.render()
        if rendered and rendered not in kinds.setdefault(entry.kind, []):
            kinds[entry.kind].append(rendered)

    def one(values: list[str]) -> str:
        amounts = [e for e in entries if e.amount is not None and e.render() in values]
        if len(values) > 3 and len(amounts) == len(values) and len({e.per for e in amounts}) == 1:
            low, high = min(amounts, key=lambda e: e.amount or 0), max(amounts, key=lambda e: e.amount or 0)
            return f"từ {low.render()} đến {high.render()}, {VARIES}"
        if len(values) > 1 and all(v[:1].isdigit() for v in values):
            return " hoặc ".join(values) + f", {VARIES}"
        return "; ".join(values)

    if len(kinds) == 1:
        return one(next(iter(kinds.values())))
    parts = [one(values) for values in kinds.values()]
    return "; ".join(f"{kind} {part[:1].lower()}{part[1:]}" for kind, part in zip(kinds, parts, strict=True))


def _group(by_channel: list[tuple[str, str]]) -> str | None:
    """One value when every channel agrees, else "Nộp trực tiếp: …; nộp trực tuyến: …"."""
    values: dict[str, list[str]] = {}
    for channel, value in by_channel:
        channels = values.setdefault(value, [])
        if channel not in channels:
            channels.append(channel)
    if not values:
        return None
    if len(values) == 1:
        return next(iter(values))
    parts = [f"nộp {', '.join(channels)}: {value}" for value, channels in values.items()]
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def format_fees(ways: Sequence[tuple[str, str]]) -> str | None:
    """Fees of one record from its (channel, fee string) pairs; ``None`` when unknown.

    "0 Đồng" / "Không" reads "Không mất lệ phí" only when every channel states zero and
    nothing else; a zero beside unknown or non-zero channels is dropped (it is not a
    reliable statement there). "theo quy định" alone states nothing.
    """
    merged: dict[str, list[_Fee | None]] = {}
    for name, raw in ways:  # a channel listed twice is one channel
        merged.setdefault(_channel(name), []).extend(_fee_entries(raw or ""))
    parsed = list(merged.items())
    if parsed and all(entries and all(e is None for e in entries) for _, entries in parsed):
        return FREE
    by_channel = [
        (channel, _render_fees([e for e in entries if e is not None]))
        for channel, entries in parsed
        if any(e is not None for e in entries)
    ]
    value = _group([(c, v) for c, v in by_channel if v])
    return value[:1].upper() + value[1:] if value else None


def _time_value(raw: str) -> str | None:
    sentence = clean(raw).strip(" ;")
    text = sentence.rstrip(" .")
    if not text or text.isdigit():
        return None  # "0", "1", "30": a number without a unit says nothing
    if fold(text.lower()) in _NO_TIME:
        return None
    simple = _SIMPLE_TIME.match(text)
    if simple:
        prefix = text[: simple.start("n")].strip().lower()
        value = f"{int(simple.group('n'))} {_SPACES.sub(' ', simple.group('unit').lower())}"
        return f"{prefix[:1].upper()}{prefix[1:]} {value}" if prefix else value
    text = _LEADING_ZERO.sub(r"\1\2", sentence)
    text = _UNIT_CASE.sub(lambda m: m.group(1).lower(), text)
    return _sentence(text)


def stated_time(text: str) -> str | None:
    """A time limit a free text states as "thời hạn giải quyết … N ngày …", if any."""
    match = _STATED_TIME.search(clean(text))
    if not match:
        return None
    return f"{int(match.group('n'))} {_SPACES.sub(' ', match.group('unit').lower())}"


def format_processing_time(ways: Sequence[tuple[str, str]], other_text: str = "") -> str | None:
    """Processing time from (channel, time string) pairs; else what ``other_text`` states."""
    merged: dict[str, list[str]] = {}
    for name, raw in ways:  # a channel listed twice is one channel
        value = _time_value(raw or "")
        values = merged.setdefault(_channel(name), [])
        if value and value not in values:
            values.append(value)
    value = _group([(c, "; ".join(v)) for c, v in merged.items() if v])
    return value or (stated_time(other_text) if other_text else None)


def format_quantity(raw: str) -> str | None:
    """ "Bản chính: 1 - Bản sao: 0" → "1 bản chính"; nothing stated → ``None``."""
    text = clean(raw)
    counts = re.findall(r"(bản\s+chính|bản\s+sao)\s*:\s*(\d+)", text, re.IGNORECASE)
    if not counts:
        return text or None
    parts = [f"{int(n)} {kind.lower()}" for kind, n in counts if int(n) > 0]
    return ", ".join(parts) or None


# --- how a record reads -------------------------------------------------------------


def text_problems(text: str) -> list[str]:
    """Why a text shown to a citizen does not read cleanly (empty list when it does)."""
    found = []
    if _HTML.search(text):
        found.append("thẻ HTML")
    if _BARE_ZERO.search(text):
        found.append('số "0" trơ trọi')
    if _EMPTY_BULLET.search(text):
        found.append("gạch đầu dòng rỗng")
    labels = [fold(_SPACES.sub(" ", m.group(1).lower())) for m in _LABEL.finditer(text)]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        found.append("nhãn lặp lại: " + ", ".join(repeated))
    if _NONE_WORD.search(text):
        found.append('chữ "None"')
    if _DEBRIS.search(text):
        found.append("rác từ trang nguồn")
    return found


def _value_problems(field: str, value: str) -> list[str]:
    found = [f"{field}: {p}" for p in text_problems(value)]
    stripped = value.strip(" .;")
    if stripped.isdigit():
        found.append(f"{field}: số không có đơn vị")
    if not stripped:
        found.append(f"{field}: rỗng")
    if _AS_REGULATED.match(re.sub(r"^(?:lệ\s*phí|phí)\s*:\s*", "", stripped, flags=re.IGNORECASE)):
        found.append(f'{field}: chỉ có "theo quy định"')
    if field in ("fees", "processing_time"):
        if _FEE_LABEL.match(stripped) or re.match(r"^(?:thời\s+(?:hạn|gian))[^:]{0,20}:", stripped, re.I):
            found.append(f"{field}: bắt đầu bằng nhãn")
        if field == "processing_time" and fold(stripped.lower()) in _NO_TIME:
            found.append(f"{field}: không nêu thời hạn")
    if _BULLET_START.match(value) and field not in ("steps",):
        found.append(f"{field}: bắt đầu bằng gạch đầu dòng")
    return found


def problems(procedure: Procedure) -> list[str]:
    """The reasons a record does not read cleanly, as short Vietnamese phrases."""
    p = procedure
    found: list[str] = []
    for field in ("name", "agency", "applicants", "fees", "processing_time", "where", "result"):
        value = getattr(p, field)
        if value is not None:
            found += _value_problems(field, value)
    for field in ("steps", "legal_basis", "aliases", "questions"):
        for i, item in enumerate(getattr(p, field), start=1):
            if not item.strip(" -•*+–.;"):
                found.append(f"{field}[{i}]: mục rỗng")
            elif field in ("steps", "legal_basis"):
                found += [f"{field}[{i}]: {x}" for x in text_problems(item)]
    for i, document in enumerate(p.documents, start=1):
        if not document.name.strip(" -•*+–.;"):
            found.append(f"documents[{i}]: mục rỗng")
        for part in (document.name, document.form_name, document.quantity):
            if part:
                found += [f"documents[{i}]: {x}" for x in text_problems(part)]
    return found


def _filled(procedure: Procedure, field: str) -> bool:
    if field == "where":
        value = procedure.where or procedure.agency
        return bool(value) and not _value_problems(field, value or "")
    value = getattr(procedure, field)
    if isinstance(value, str):
        return bool(value.strip()) and not _value_problems(field, value)
    return bool(value)


def completeness(procedures: Iterable[Procedure]) -> dict[str, dict[str, float | int]]:
    """For each fact field: ``{"filled", "total", "share"}`` over published procedures.

    A text field counts as filled only when it reads cleanly (a bare "0" is not a
    processing time); ``where`` counts the agency when no place is given.
    """
    published = [p for p in procedures if p.status == "published"]
    total = len(published)
    out: dict[str, dict[str, float | int]] = {}
    for field in FACT_FIELDS:
        filled = sum(1 for p in published if _filled(p, field))
        out[field] = {"filled": filled, "total": total, "share": round(filled / total, 3) if total else 0.0}
    return out
