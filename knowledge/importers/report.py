"""What an import did: created, updated, merged, rejected (with row and reason)."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.models import Procedure


class ImportFileError(ValueError):
    """The file as a whole cannot be read; nothing was changed."""


@dataclass
class Rejection:
    row: int
    reason: str
    title: str | None = None


@dataclass
class ParseResult:
    """Procedures parsed from one file, before they touch the catalogue."""

    procedures: list[Procedure] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # "row N merged into <id>"
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"Tạo mới: {len(self.created)}",
            f"Cập nhật: {len(self.updated)}",
            f"Không đổi: {len(self.unchanged)}",
            f"Gộp bản trùng: {len(self.merged)}",
            f"Từ chối: {len(self.rejected)}",
        ]
        lines += [f"  - {m}" for m in self.merged]
        lines += [f"  - dòng {r.row}{f' ({r.title})' if r.title else ''}: {r.reason}" for r in self.rejected]
        lines += [f"  ! {w}" for w in self.warnings]
        return "\n".join(lines)
