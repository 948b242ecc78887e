"""Turning the bot's messages into Zalo text: buttons become a numbered list the citizen
answers with a digit, links are written out, and long texts are split on paragraph,
line or sentence boundaries (Zalo takes about 2,000 characters per message)."""

from __future__ import annotations

import re
from typing import Any

from bot.texts import text as message_text

MAX_CHARS = 2000
_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")
# Separators tried in order: paragraph, line, sentence end, word.
_SEPARATORS = ("\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ")


def render(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """One turn's messages as one text, and the buttons in the order they are numbered."""
    parts: list[str] = []
    buttons: list[dict[str, str]] = []
    for message in messages:
        lines = [str(message.get("text") or "").strip()]
        for button in message.get("buttons") or []:
            buttons.append({"title": str(button.get("title", "")), "payload": str(button.get("payload", ""))})
            lines.append(f"{len(buttons)}. {buttons[-1]['title']}")
        for link in message.get("links") or []:
            lines.append(f"{link.get('title', '')}: {link.get('url', '')}".strip(": "))
        block = "\n".join(line for line in lines if line)
        if block:
            parts.append(block)
    if buttons:
        parts.append(message_text("zalo_choose", last=len(buttons)))
    return "\n\n".join(parts), buttons


def split_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Chunks of at most ``limit`` characters, cut at the largest natural boundary."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    for separator in _SEPARATORS:
        cut = text.rfind(separator, 0, limit)
        if cut > limit // 4:
            head = text[: cut + len(separator)].strip()
            return [head, *split_text(text[cut + len(separator) :], limit)]
    return [text[:limit], *split_text(text[limit:], limit)]


def choice_payload(text: str, buttons: list[dict[str, str]] | None) -> str | None:
    """The payload of the numbered button the citizen chose by typing its digit."""
    match = _CHOICE.match(text)
    if not match or not buttons:
        return None
    number = int(match.group(1))
    if 1 <= number <= len(buttons):
        return buttons[number - 1].get("payload") or buttons[number - 1].get("title")
    return None
