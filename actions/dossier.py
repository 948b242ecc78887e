"""Dossier status: the ``dossier_form`` (code, then the last 4 digits of the applicant's
phone), the lookup through the portal client, and subscriptions to status changes.

Wrong digits and unknown codes get the same answer; failed tries are bounded per
dossier and conversation (``bot/portal/attempts.py``). Codes and digits are never
logged in clear (the logging filter masks them) and the digits are never echoed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions import runtime
from bot.portal import attempts, subscriptions
from bot.portal.client import HttpPortalClient, PortalClient
from bot.portal.codes import EXAMPLE_CODE, find_code, find_last4
from bot.portal.errors import DossierNotFound, PortalError
from bot.portal.models import Dossier
from bot.portal.replies import status_reply
from bot.portal.statuses import status

log = logging.getLogger(__name__)
LOCK_MINUTES = int(attempts.WINDOW.total_seconds() // 60)
_portal: PortalClient | None = None


def portal() -> PortalClient:
    """The process-wide portal client (one breaker for the whole action server)."""
    global _portal
    if _portal is None:
        _portal = HttpPortalClient.from_settings(runtime.settings())
    return _portal


def use_portal(client: PortalClient | None) -> None:
    """Plug in another portal client (a province's own, or a test's); None resets."""
    global _portal
    _portal = client


def _tries_left(conversation: str, code: str) -> int:
    return attempts.tries_left(runtime.engine(), conversation, code, runtime.settings().dossier_max_tries)


def _reset() -> list[EventType]:
    return [SlotSet("dossier_code", None), SlotSet("phone_last4", None), SlotSet("requested_slot", None)]


def _locked_reply(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(
        response="utter_dossier_locked", minutes=LOCK_MINUTES, hotline=runtime.settings().hotline
    )


class ValidateDossierForm(FormValidationAction):
    def name(self) -> str:
        return "validate_dossier_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        code = tracker.slots.get("dossier_code")
        if code and await asyncio.to_thread(_tries_left, tracker.sender_id, code) <= 0:
            return ["dossier_code"]  # locked: end the form, action_check_dossier explains
        return domain_slots

    async def extract_dossier_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A code anywhere in the message, typed with spaces or in lower case."""
        code = find_code(tracker.latest_message.get("text"))
        return {"dossier_code": code} if code else {}

    async def validate_dossier_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = find_code(str(value)) if value else None
        if code is None:
            dispatcher.utter_message(response="utter_dossier_code_format", example=EXAMPLE_CODE)
            return {"dossier_code": None}
        return {"dossier_code": code}

    async def validate_phone_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "phone_last4":
            return {"phone_last4": None}  # digits typed before we asked are not a verification
        digits = find_last4(str(value)) if value is not None else None
        if digits is None:
            dispatcher.utter_message(response="utter_dossier_phone_format")
            return {"phone_last4": None}
        return {"phone_last4": digits}


class ActionCheckDossier(Action):
    def name(self) -> str:
        return "action_check_dossier"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code = find_code(tracker.get_slot("dossier_code") or "")
        last4 = tracker.get_slot("phone_last4")
        config = runtime.settings()
        if code is None:
            dispatcher.utter_message(response="utter_ask_dossier_code")
            return _reset()
        conversation = tracker.sender_id
        try:
            if await asyncio.to_thread(_tries_left, conversation, code) <= 0:
                _locked_reply(dispatcher)  # also ends the form early, before any digits
                return _reset()
        except SQLAlchemyError:
            log.exception("could not read lookup tries")
            dispatcher.utter_message(response="utter_portal_unavailable", hotline=config.hotline)
            return _reset()
        if not last4:
            dispatcher.utter_message(response="utter_ask_dossier_code")
            return _reset()
        dossier: Dossier | None
        try:
            dossier = await portal().get_dossier(code)
        except DossierNotFound:
            dossier = None
        except PortalError as error:
            log.warning("dossier lookup failed: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_portal_unavailable", hotline=config.hotline)
            return _reset()
        verified = dossier is not None and dossier.phone_matches(str(last4))
        await asyncio.to_thread(attempts.record, runtime.engine(), conversation, code, verified)
        if dossier is None or not verified:
            left = await asyncio.to_thread(_tries_left, conversation, code)
            if left <= 0:
                _locked_reply(dispatcher)
            else:
                dispatcher.utter_message(response="utter_dossier_mismatch", tries_left=left)
            return _reset()
        buttons = []
        if not status(dossier.status).final:
            buttons.append({"title": "Báo cho tôi khi có kết quả", "payload": "/subscribe_dossier"})
        buttons.append({"title": "Tra cứu hồ sơ khác", "payload": "/check_dossier_status"})
        dispatcher.utter_message(
            text=status_reply(dossier),
            buttons=buttons,
            json_message={
                "links": [
                    {"title": "Tra cứu trên Cổng Dịch vụ công", "url": dossier.url or config.portal_home_url}
                ]
            },
        )
        return [*_reset(), SlotSet("verified_dossier", dossier.code)]


class ActionSubscribeDossier(Action):
    def name(self) -> str:
        return "action_subscribe_dossier"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code = tracker.get_slot("verified_dossier")
        config = runtime.settings()
        if not code:
            dispatcher.utter_message(response="utter_subscribe_needs_lookup")
            return []
        try:
            dossier = await portal().get_dossier(code)
        except PortalError as error:
            log.warning("subscription lookup failed: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_portal_unavailable", hotline=config.hotline)
            return []
        if status(dossier.status).final:
            dispatcher.utter_message(
                response="utter_subscribe_final", status_name=status(dossier.status).name
            )
            return []
        try:
            await asyncio.to_thread(subscriptions.subscribe, runtime.engine(), tracker.sender_id, dossier)
        except SQLAlchemyError:
            log.exception("could not store the subscription")
            dispatcher.utter_message(response="utter_portal_unavailable", hotline=config.hotline)
            return []
        dispatcher.utter_message(response="utter_subscribed", code=dossier.code)
        return []


class ActionCancelDossier(Action):
    """Leaves the dossier form (the citizen asked for an officer, said goodbye or asked
    about a procedure instead)."""

    def name(self) -> str:
        return "action_cancel_dossier"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return [ActiveLoop(None), *_reset()]
