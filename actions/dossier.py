"""Dossier status: the ``dossier_form`` (code, then the last 4 digits of the applicant's
phone), the lookup through the portal client, and subscriptions to status changes.

Wrong digits and unknown codes get the same answer; failed tries are bounded per
dossier and conversation and per dossier across every conversation
(``bot/portal/attempts.py``); a try is recorded before the digits are compared. A
verified dossier is remembered for ``VERIFIED_FOR`` (30 minutes), then the citizen
proves the link again. Codes and digits are never logged in clear (the logging filter
masks them) and the digits are never echoed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions import runtime
from bot.portal import attempts, lockout, subscriptions
from bot.portal.client import HttpPortalClient, PortalClient
from bot.portal.codes import EXAMPLE_CODE, find_code, find_last4
from bot.portal.errors import DossierNotFound, PortalError
from bot.portal.models import Dossier
from bot.portal.replies import locked_for_everyone_reply, status_reply
from bot.portal.statuses import status
from bot.security_audit import audit

log = logging.getLogger(__name__)
LOCK_MINUTES = int(attempts.WINDOW.total_seconds() // 60)
VERIFIED_FOR = dt.timedelta(minutes=30)
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


def _budget() -> attempts.Budget:
    config = runtime.settings()
    return attempts.Budget(config.dossier_max_tries, config.dossier_daily_failures)


def _state(conversation: str, code: str) -> attempts.LookupState:
    key = lockout.key_of(code, runtime.settings())
    return attempts.lookup_state(runtime.engine(), conversation, key, _budget())


def _begin(conversation: str, code: str) -> int:
    return attempts.begin(runtime.engine(), conversation, lockout.key_of(code, runtime.settings()))


def verified_code(tracker: Tracker, now: float | None = None) -> str | None:
    """The dossier this conversation proved a link to less than ``VERIFIED_FOR`` ago."""
    code = tracker.get_slot("verified_dossier")
    if not code:
        return None
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == "verified_dossier":
            stamp = event.get("timestamp")
            fresh = (
                isinstance(stamp, int | float) and (now or time.time()) - stamp < VERIFIED_FOR.total_seconds()
            )
            return str(code) if fresh and event.get("value") == code else None
    return None


def _reset() -> list[EventType]:
    return [SlotSet("dossier_code", None), SlotSet("phone_last4", None), SlotSet("requested_slot", None)]


def _locked_reply(dispatcher: CollectingDispatcher, state: attempts.LookupState) -> None:
    hotline = runtime.settings().hotline
    if state.locked_for_everyone:
        dispatcher.utter_message(text=locked_for_everyone_reply(hotline))
    else:
        dispatcher.utter_message(response="utter_dossier_locked", minutes=LOCK_MINUTES, hotline=hotline)


class ValidateDossierForm(FormValidationAction):
    def name(self) -> str:
        return "validate_dossier_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        code = tracker.slots.get("dossier_code")
        if code and (await asyncio.to_thread(_state, tracker.sender_id, code)).locked:
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
        last4 = find_last4(str(tracker.get_slot("phone_last4") or ""))
        config = runtime.settings()
        if code is None:
            dispatcher.utter_message(response="utter_ask_dossier_code")
            return _reset()
        conversation = tracker.sender_id
        try:
            before = await asyncio.to_thread(_state, conversation, code)
            if before.locked:
                _locked_reply(dispatcher, before)  # also ends the form early, before any digits
                return _reset()
            if not last4:
                dispatcher.utter_message(response="utter_ask_dossier_code")
                return _reset()
            attempt = await asyncio.to_thread(_begin, conversation, code)  # counted before comparing
        except SQLAlchemyError:
            log.exception("could not read or record lookup tries")
            dispatcher.utter_message(response="utter_portal_unavailable", hotline=config.hotline)
            return _reset()
        dossier: Dossier | None
        try:
            dossier = await portal().get_dossier(code)
        except DossierNotFound:
            dossier = None
        except PortalError as error:
            log.warning("dossier lookup failed: %s", type(error).__name__)
            await asyncio.to_thread(attempts.cancel, runtime.engine(), attempt)  # nothing was compared
            dispatcher.utter_message(response="utter_portal_unavailable", hotline=config.hotline)
            return _reset()
        verified = dossier is not None and dossier.phone_matches(last4)
        if dossier is None or not verified:
            after = await asyncio.to_thread(_state, conversation, code)
            if after.locked_for_everyone:
                await asyncio.to_thread(
                    audit,
                    runtime.engine(),
                    "system",
                    "dossier.locked",
                    code,
                    {"failures": config.dossier_daily_failures},
                )
                log.warning("dossier lookup locked for everyone after repeated failures")
            if after.locked:
                _locked_reply(dispatcher, after)
            else:
                dispatcher.utter_message(response="utter_dossier_mismatch", tries_left=after.tries_left)
            return _reset()
        await asyncio.to_thread(attempts.succeed, runtime.engine(), attempt)
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
        code = verified_code(tracker)
        config = runtime.settings()
        if not code:
            dispatcher.utter_message(response="utter_subscribe_needs_lookup")
            return [SlotSet("verified_dossier", None)] if tracker.get_slot("verified_dossier") else []
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
