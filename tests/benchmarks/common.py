"""Helpers shared by the benchmark scripts (not collected by pytest)."""

from __future__ import annotations

import json
import platform
import statistics
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT

BENCH_DIR = PROJECT_ROOT / "var" / "bench"


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"n": len(values), "p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "mean": round(statistics.fmean(values), 2)}


def write(name: str, data: dict[str, Any]) -> Path:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    data = {"machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()}, **data}
    path = BENCH_DIR / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(data, ensure_ascii=False, indent=2))
    print(f"-> {path}")
    return path


def read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
