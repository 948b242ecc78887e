"""The console's operator-facing texts (``bot/console/messages.yml``), and the citizen's
message when an officer answers a ticket (``templates/citizen/handoff_reply.txt``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

HERE = Path(__file__).parent


@lru_cache(maxsize=1)
def _messages() -> dict[str, str]:
    path = HERE / "messages.yml"
    return {str(k): str(v) for k, v in yaml.safe_load(path.read_text(encoding="utf-8")).items()}


def text(name: str, **values: object) -> str:
    return _messages()[name].format(**values)
