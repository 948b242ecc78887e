"""Renders the citizen-facing texts of ``actions/messages.yml``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template

_MESSAGES = Path(__file__).with_name("messages.yml")


@lru_cache(maxsize=1)
def _templates() -> dict[str, Template]:
    environment = Environment(autoescape=False, undefined=StrictUndefined, trim_blocks=False)  # noqa: S701 - plain text, never HTML
    raw = yaml.safe_load(_MESSAGES.read_text(encoding="utf-8"))
    return {name: environment.from_string(text) for name, text in raw.items()}


def render(template: str, **context: Any) -> str:
    """The message ``template`` with blank lines removed."""
    text = _templates()[template].render(**context)
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())
