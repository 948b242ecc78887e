"""The channel-agnostic conversation service: every channel (web, Zalo, …) hands a
verified sender id and a text to ``ConversationService.reply`` and renders the
messages it gets back. Another channel is one module that calls this."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.metrics import count_turn
from bot.portal.subscriptions import take_pending
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.settings import Settings
from bot.texts import text

log = logging.getLogger(__name__)

Message = dict[str, Any]  # {"text": str, "buttons": [{"title","payload"}], "links": [{"title","url"}]}


def notice(message: str) -> list[Message]:
    return [{"text": message, "buttons": [], "links": []}]


class ConversationService:
    def __init__(self, settings: Settings, rasa: RasaClient, engine: Engine | None = None) -> None:
        self.settings = settings
        self.rasa = rasa
        self.engine = engine

    async def pending_notifications(self, sender_id: str) -> list[Message]:
        """Dossier status changes not yet shown to this conversation (each shown once)."""
        if self.engine is None:
            return []
        try:
            items = await asyncio.to_thread(take_pending, self.engine, sender_id)
        except SQLAlchemyError:
            log.exception("could not read pending notifications")
            return []
        return [{"text": item["text"], "buttons": [], "links": []} for item in items]

    async def reply(self, sender_id: str, message: str) -> list[Message]:
        """The bot's messages for one citizen message; never raises for bad input or
        a dependency that is down: the citizen always gets a polite answer."""
        message = message.strip()
        if not message:
            count_turn(sender_id, "empty")
            return notice(text("empty"))
        limit = self.settings.max_message_chars
        if len(message) > limit:
            count_turn(sender_id, "too_long")
            return notice(text("too_long", limit=limit))
        try:
            answer = await self.rasa.send(sender_id, message)
            if answer:
                count_turn(sender_id, "answered")
            else:  # Rasa ran but said nothing: a custom action failed (action server away)
                log.warning("Rasa answered nothing: is the action server down?")
                count_turn(sender_id, "no_answer")
                answer = notice(text("rasa_down", hotline=self.settings.hotline))
        except RasaUnavailable as error:
            log.warning("Rasa unavailable: %s", error)
            count_turn(sender_id, "rasa_unavailable")
            answer = notice(text("rasa_down", hotline=self.settings.hotline))
        return await self.pending_notifications(sender_id) + answer
