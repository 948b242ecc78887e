"""The seed catalogue in the repo (``knowledge/catalogue/``) and the catalogue hash.

``load_seed()`` returns the curated procedures: the cleaned real records with their
curation overlay applied, plus the authored records. The database is seeded from it;
tests and ``congdan eval`` index it directly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from knowledge.importers import native
from knowledge.models import Procedure

SEED_DIR = Path(__file__).resolve().parent / "catalogue"
IMPORTED_FILE = "dvc_imported.yml"
CURATION_FILE = Path("curation") / "dvc_imported.yml"
# What the overlay may set. Facts (fees, processing_time, legal_basis) only where a legal
# text states them, with a "# source:" comment in the YAML naming the article.
CURATED_KEYS = {"field", "level", "aliases", "questions", "where", "fees", "processing_time", "legal_basis"}


def check_curation(curation: Any, known_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The overlay as a mapping; raises ValueError on an unknown id, key or shape."""
    if not curation:
        return {}
    if not isinstance(curation, dict):
        raise ValueError(f"{CURATION_FILE}: cần một bảng mã thủ tục → trường")
    for procedure_id, extra in curation.items():
        if procedure_id not in known_ids:
            raise ValueError(f"{CURATION_FILE}: mã {procedure_id} không có trong {IMPORTED_FILE}")
        if not isinstance(extra, dict):
            raise ValueError(f"{CURATION_FILE}: {procedure_id} cần một bảng trường")
        unknown = sorted(set(extra) - CURATED_KEYS)
        if unknown:
            raise ValueError(
                f"{CURATION_FILE}: {procedure_id} có trường không được bổ sung: {', '.join(unknown)}"
            )
    return curation


def apply_curation(procedures: list[Procedure], curation: dict[str, dict[str, Any]]) -> list[Procedure]:
    """The records with their overlay applied; the result is validated as a Procedure."""
    out = []
    for procedure in procedures:
        extra = {k: v for k, v in (curation.get(procedure.id) or {}).items() if k in CURATED_KEYS}
        try:
            curated = Procedure.model_validate({**procedure.model_dump(), **extra}) if extra else procedure
        except ValidationError as error:
            raise ValueError(f"{CURATION_FILE}: {procedure.id}: {error.errors()[0]['msg']}") from error
        out.append(curated)
    return out


def seed_files(seed_dir: Path = SEED_DIR) -> list[Path]:
    files = [seed_dir / IMPORTED_FILE] if (seed_dir / IMPORTED_FILE).exists() else []
    return files + sorted((seed_dir / "authored").glob("*.yml"))


def load_seed(seed_dir: Path = SEED_DIR) -> list[Procedure]:
    """All seed procedures; raises ValueError if any seed record is invalid."""
    curation_path = seed_dir / CURATION_FILE
    raw_curation = yaml.safe_load(curation_path.read_text(encoding="utf-8")) if curation_path.exists() else {}
    procedures: dict[str, Procedure] = {}
    for path in seed_files(seed_dir):
        result = native.read_any(path)
        if result.rejected:
            reasons = "; ".join(f"dòng {r.row}: {r.reason}" for r in result.rejected)
            raise ValueError(f"{path.name}: {reasons}")
        curation: dict[str, dict[str, Any]] = {}
        if path.name == IMPORTED_FILE:
            curation = check_curation(raw_curation, {p.id for p in result.procedures})
        for procedure in apply_curation(result.procedures, curation):
            if procedure.id in procedures:
                raise ValueError(f"{path.name}: mã {procedure.id} đã có ở tệp khác")
            procedures[procedure.id] = procedure
    return list(procedures.values())


def write_yaml(procedures: Iterable[Procedure], path: Path) -> None:
    rows = [p.model_dump(mode="json", exclude_defaults=True) for p in procedures]
    path.write_text(yaml.safe_dump(rows, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8")


def catalogue_hash(procedures: Iterable[Procedure]) -> str:
    """A stable digest of the published procedures' content (what the index is built from)."""
    digest = hashlib.sha256()
    for procedure in sorted(procedures, key=lambda p: p.id):
        if procedure.status == "published":
            digest.update(json.dumps(procedure.model_dump(mode="json"), sort_keys=True).encode())
    return digest.hexdigest()[:16]
