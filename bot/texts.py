"""The gateway's own citizen-facing texts (``bot/messages.yml``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml


@lru_cache(maxsize=1)
def _messages() -> dict[str, str]:
    path = Path(__file__).with_name("messages.yml")
    return {str(k): str(v) for k, v in yaml.safe_load(path.read_text(encoding="utf-8")).items()}


def text(name: str, **values: object) -> str:
    return _messages()[name].format(**values)
