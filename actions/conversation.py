"""Fallback, handoff to a human officer and feedback."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import runtime
from actions.procedures import is_button_payload, respond_to_search, user_text
from bot.inbox import channel_of, create_handoff, record_feedback, record_unanswered
from knowledge.search import IndexNotReady, QueryError

log = logging.getLogger(__name__)
FALLBACKS_BEFORE_HANDOFF = 2


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[EventType]:
    config = runtime.settings()
    try:
        ticket = create_handoff(
            runtime.engine(),
            tracker.sender_id,
            reason,
            tracker.get_slot("last_question"),
            tracker.get_slot("procedure_id"),
        )
    except SQLAlchemyError:
        log.exception("could not store the handoff ticket")
        dispatcher.utter_message(
            response="utter_handoff_failed", hotline=config.hotline, office_hours=config.office_hours
        )
        return [SlotSet("fallback_count", 0.0)]
    dispatcher.utter_message(
        response="utter_handoff", ticket=ticket, hotline=config.hotline, office_hours=config.office_hours
    )
    return [SlotSet("fallback_count", 0.0)]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return hand_off(dispatcher, tracker, reason="citizen_request")


class ActionFallback(Action):
    """Low NLU confidence: the catalogue may still know the answer; else apologise,
    and after two misses in a row hand over to an officer."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = user_text(tracker)
        if text and not is_button_payload(text):
            try:
                result = runtime.searcher().search(text, top=5)
            except (QueryError, IndexNotReady):
                result = None
            if result is not None and result.decision == "confident":
                return respond_to_search(dispatcher, tracker, result)
            if result is not None:
                record_unanswered(
                    runtime.engine(),
                    result.query,
                    "nlu_fallback",
                    [h.id for h in result.results[:3]],
                    channel_of(tracker.sender_id),
                )
        count = float(tracker.get_slot("fallback_count") or 0) + 1
        if count >= FALLBACKS_BEFORE_HANDOFF:
            return [SlotSet("last_question", text or None), *hand_off(dispatcher, tracker, "two_fallbacks")]
        dispatcher.utter_message(response="utter_default")
        return [SlotSet("fallback_count", count), SlotSet("last_question", text or None)]


class ActionStoreFeedback(Action):
    def name(self) -> str:
        return "action_store_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rating = next(tracker.get_latest_entity_values("rating"), None)
        if rating is None:  # typed feedback ("sai rồi", "hay quá") without the buttons
            text = user_text(tracker).lower()
            negative = ("sai", "không", "ko ", "chưa", "chua", "kém", "tệ", "khong")
            rating = "down" if any(word in text for word in negative) else "up"
        try:
            record_feedback(
                runtime.engine(),
                tracker.sender_id,
                str(rating),
                tracker.get_slot("last_question"),
                tracker.get_slot("procedure_id"),
            )
        except SQLAlchemyError:
            log.exception("could not store feedback")
        dispatcher.utter_message(response="utter_feedback_thanks")
        return []
