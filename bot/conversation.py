"""The channel-agnostic conversation service: every channel (web, Zalo, …) hands a
verified sender id and a text to ``ConversationService.reply`` and renders the
messages it gets back. Another channel is one module that calls this."""

from __future__ import annotations

import logging
from typing import Any

from bot.rasa_client import RasaClient, RasaUnavailable
from bot.settings import Settings
from bot.texts import text

log = logging.getLogger(__name__)

Message = dict[str, Any]  # {"text": str, "buttons": [{"title","payload"}], "links": [{"title","url"}]}


def notice(message: str) -> list[Message]:
    return [{"text": message, "buttons": [], "links": []}]


class ConversationService:
    def __init__(self, settings: Settings, rasa: RasaClient) -> None:
        self.settings = settings
        self.rasa = rasa

    async def reply(self, sender_id: str, message: str) -> list[Message]:
        """The bot's messages for one citizen message; never raises for bad input or
        a dependency that is down: the citizen always gets a polite answer."""
        message = message.strip()
        if not message:
            return notice(text("empty"))
        limit = self.settings.max_message_chars
        if len(message) > limit:
            return notice(text("too_long", limit=limit))
        try:
            return await self.rasa.send(sender_id, message)
        except RasaUnavailable as error:
            log.warning("Rasa unavailable: %s", error)
            return notice(text("rasa_down", hotline=self.settings.hotline))
