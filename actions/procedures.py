"""Actions that answer procedure questions from the catalogue search."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import runtime
from actions.texts import render
from bot.inbox import channel_of, record_unanswered
from knowledge.analysis import ASPECT_WORDS, STOPWORDS
from knowledge.models import CHANNEL_LABELS, Procedure
from knowledge.normalize import fold, words
from knowledge.search import IndexNotReady, QueryError, SearchResult

log = logging.getLogger(__name__)

MAX_CANDIDATES = 3
MAX_DOCUMENTS = 8
MAX_STEPS = 6
WHERE_CHARS = 220
NONE_OF_THESE = "/none_of_these"


@dataclass(frozen=True)
class Aspect:
    """One thing a citizen asks about a procedure: the intent that asks it, the template
    that answers it, whether the catalogue knows it for a procedure, and its button."""

    intent: str
    template: str
    known: Callable[[Procedure], bool]
    button: str | None = None  # title template in messages.yml; None: no button

    @property
    def payload(self) -> str:
        return f"/{self.intent}"


# The one table of aspects: it drives the answers, the buttons and the intent routing.
ASPECTS: dict[str, Aspect] = {
    "documents": Aspect("ask_documents", "documents", lambda p: bool(p.documents), "button_documents"),
    "fee": Aspect("ask_fee", "fee", lambda p: bool(p.fees), "button_fee"),
    "duration": Aspect("ask_duration", "duration", lambda p: bool(p.processing_time), "button_duration"),
    "where": Aspect("ask_where", "where", lambda p: bool(p.where or p.agency), "button_where"),
    "online": Aspect("ask_online", "online", lambda p: bool(p.channels), "button_online"),
    "steps": Aspect("ask_steps", "steps", lambda p: bool(p.steps)),
    "legal_basis": Aspect("ask_legal_basis", "legal_basis", lambda p: bool(p.legal_basis)),
}
ASPECT_BY_INTENT = {a.intent: name for name, a in ASPECTS.items()}


def aspect_buttons(procedure: Procedure, skip: str | None = None) -> list[dict[str, str]]:
    """Buttons for the aspects the catalogue knows about this procedure (none that would
    only lead to "the catalogue does not say")."""
    return [
        {"title": render(a.button), "payload": a.payload}
        for name, a in ASPECTS.items()
        if a.button and name != skip and a.known(procedure)
    ]


def names_a_procedure(text: str) -> bool:
    """Whether a follow-up says something beyond aspect and filler words."""
    return any(w not in STOPWORDS and w not in ASPECT_WORDS for w in (fold(x) for x in words(text)))


def user_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def is_button_payload(text: str) -> bool:
    return text.startswith("/")


def shorten(text: str | None, limit: int = WHERE_CHARS) -> str | None:
    if not text:
        return None
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def online_label(procedure: Procedure) -> str:
    online = [c for c in procedure.channels if c.startswith("online")]
    if not procedure.channels:
        return "danh mục chưa có thông tin"
    if not online:
        return "chưa hỗ trợ, Anh/Chị nộp trực tiếp" + (
            " hoặc qua bưu chính" if "post" in procedure.channels else ""
        )
    return "có (" + ", ".join(CHANNEL_LABELS[c].lower() for c in procedure.channels) + ")"


def links_for(procedure: Procedure) -> list[dict[str, str]]:
    if procedure.url:
        return [{"title": render("official_link"), "url": procedure.url}]
    return [{"title": render("portal_link"), "url": runtime.settings().portal_home_url}]


def search(dispatcher: CollectingDispatcher, text: str) -> SearchResult | None:
    """The catalogue search, or None after telling the citizen it is unavailable."""
    try:
        return runtime.searcher().search(text, top=5)
    except QueryError as error:
        dispatcher.utter_message(text=str(error))
    except IndexNotReady:
        log.error("search index not ready")
        dispatcher.utter_message(response="utter_search_unavailable", hotline=runtime.settings().hotline)
    return None


def answer(dispatcher: CollectingDispatcher, procedure: Procedure) -> list[EventType]:
    dispatcher.utter_message(
        text=render(
            "answer",
            p=procedure,
            where=shorten(procedure.where or procedure.agency),
            online=online_label(procedure),
        ),
        buttons=aspect_buttons(procedure),
        json_message={"links": links_for(procedure)},
    )
    dispatcher.utter_message(response="utter_ask_feedback")
    return [SlotSet("procedure_id", procedure.id), SlotSet("fallback_count", 0.0)]


def clarify(
    dispatcher: CollectingDispatcher, candidates: list[tuple[str, str]], intro: str = "clarify"
) -> list[EventType]:
    """Ask which candidate is meant, always with a way out ("none of these").

    While the question is pending no procedure is current: a follow-up such as "lệ phí
    bao nhiêu" is about these candidates, not about what was discussed before."""
    shown = candidates[:MAX_CANDIDATES]
    dispatcher.utter_message(
        text=render(intro),
        buttons=[
            *(
                {"title": name, "payload": f'/choose_procedure{{"procedure_id": "{pid}"}}'}
                for pid, name in shown
            ),
            {"title": render("button_none_of_these"), "payload": NONE_OF_THESE},
        ],
    )
    return [SlotSet("candidates", [pid for pid, _ in shown]), SlotSet("procedure_id", None)]


def search_link(question: str | None) -> dict[str, str]:
    """The national portal's procedure search for the citizen's own words."""
    config = runtime.settings()
    url = config.procedure_search_url.replace("{q}", quote((question or "").strip()[:200]))
    return {"title": render("portal_search_link"), "url": url}


def honest_no_match(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    question: str | None,
    reason: str,
    candidates: list[str],
) -> list[EventType]:
    """Say plainly that the catalogue does not hold it, point to the national search with
    the citizen's words, offer an officer, and queue the question for the operators."""
    if question:
        try:
            record_unanswered(runtime.engine(), question, reason, candidates, channel_of(tracker.sender_id))
        except SQLAlchemyError:
            log.exception("could not queue the unanswered question")
    dispatcher.utter_message(
        text=render("no_match"),
        buttons=[{"title": render("button_human"), "payload": "/request_human"}],
        json_message={"links": [search_link(question)]},
    )
    count = float(tracker.get_slot("fallback_count") or 0) + 1
    return [
        SlotSet("fallback_count", count),
        SlotSet("last_question", question),
        SlotSet("candidates", None),
        SlotSet("procedure_id", None),
    ]


def no_match(dispatcher: CollectingDispatcher, tracker: Tracker, result: SearchResult) -> list[EventType]:
    candidates = [h.id for h in result.results[:MAX_CANDIDATES]]
    return honest_no_match(dispatcher, tracker, result.query, result.decision, candidates)


def respond_to_search(
    dispatcher: CollectingDispatcher, tracker: Tracker, result: SearchResult
) -> list[EventType]:
    """Answer, ask which candidate, or apologise, as the search decided."""
    events: list[EventType] = [SlotSet("last_question", result.query)]
    if result.decision == "confident":
        procedure = runtime.searcher().procedure(result.results[0].id)
        if procedure is not None:
            others = [h.id for h in result.results[1 : MAX_CANDIDATES + 1]]
            return [*events, *answer(dispatcher, procedure), SlotSet("candidates", others)]
    if result.decision == "ambiguous" and result.results:
        return events + clarify(dispatcher, [(h.id, h.name) for h in result.results])
    return no_match(dispatcher, tracker, result)


class ActionAnswerProcedure(Action):
    """ask_procedure / choose_procedure: find the procedure and answer in short."""

    def name(self) -> str:
        return "action_answer_procedure"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        chosen = next(tracker.get_latest_entity_values("procedure_id"), None)
        if chosen:
            procedure = runtime.searcher().procedure(str(chosen))
            if procedure is not None:
                return answer(dispatcher, procedure)
        text = user_text(tracker)
        if is_button_payload(text):
            dispatcher.utter_message(text=render("which_procedure"))
            return []
        result = search(dispatcher, text)
        return respond_to_search(dispatcher, tracker, result) if result else []


def aspect_reply(aspect: str, procedure: Procedure) -> tuple[str, list[dict[str, str]]]:
    """The text and links answering one aspect of a procedure (``ASPECTS`` keys)."""
    spec = ASPECTS[aspect]
    links = links_for(procedure)
    p = procedure
    if not spec.known(p):
        return render(f"{spec.template}_unknown", p=p), links
    if aspect == "documents":
        forms = [
            {"title": render("form_link", title=shorten(d.form_name or d.name, 60)), "url": d.form_url}
            for d in p.documents
            if d.form_url
        ][:3]
        docs = p.documents[:MAX_DOCUMENTS]
        return render("documents", p=p, docs=docs, more=len(p.documents) - len(docs)), forms + links
    context: dict[str, Any] = {
        "where": p.where or p.agency,
        "online": online_label(p),
        "can_online": any(c.startswith("online") for c in p.channels),
        "steps": p.steps[:MAX_STEPS],
    }
    return render(spec.template, p=p, **context), links


def candidates_reply(aspect: str, procedures: list[Procedure]) -> str:
    """One aspect of each candidate of a pending clarification, in short."""
    spec = ASPECTS[aspect]
    facts = {
        "fee": lambda p: p.fees,
        "duration": lambda p: p.processing_time,
        "where": lambda p: shorten(p.where or p.agency, 160),
        "online": online_label,
    }
    fact = facts.get(aspect)
    items = [(p.name, fact(p) if fact and spec.known(p) else None) for p in procedures]
    return render(
        "candidates_aspect", aspect=render(f"aspect_{aspect}"), items=items, listed=fact is not None
    )


class ActionAnswerAspect(Action):
    """Follow-ups ("còn lệ phí thì sao?") about the current procedure, a newly named one,
    or — while a clarification is pending — its candidates."""

    def name(self) -> str:
        return "action_answer_aspect"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
        aspect = ASPECT_BY_INTENT.get(intent, "documents")
        text = user_text(tracker)
        procedure = None
        if not is_button_payload(text) and names_a_procedure(text):
            # The follow-up may name another procedure: switch to it when the search is sure.
            result = search(dispatcher, text)
            if result is None:
                return []
            if result.decision == "confident":
                procedure = runtime.searcher().procedure(result.results[0].id)
        current = tracker.get_slot("procedure_id")
        searcher = runtime.searcher()
        if procedure is None and current:
            procedure = searcher.procedure(str(current))
        if procedure is None:
            pending = [p for c in tracker.get_slot("candidates") or [] if (p := searcher.procedure(c))]
            if pending:
                return self._about_candidates(dispatcher, aspect, pending)
            dispatcher.utter_message(text=render("which_procedure"))
            return []
        reply, links = aspect_reply(aspect, procedure)
        dispatcher.utter_message(
            text=reply, buttons=aspect_buttons(procedure, skip=aspect), json_message={"links": links}
        )
        return [SlotSet("procedure_id", procedure.id), SlotSet("fallback_count", 0.0)]

    @staticmethod
    def _about_candidates(
        dispatcher: CollectingDispatcher, aspect: str, pending: list[Procedure]
    ) -> list[EventType]:
        if len(pending) == 1:
            reply, links = aspect_reply(aspect, pending[0])
            dispatcher.utter_message(
                text=reply, buttons=aspect_buttons(pending[0], skip=aspect), json_message={"links": links}
            )
            return [SlotSet("procedure_id", pending[0].id)]
        dispatcher.utter_message(
            text=candidates_reply(aspect, pending),
            buttons=[
                *(
                    {"title": p.name, "payload": f'/choose_procedure{{"procedure_id": "{p.id}"}}'}
                    for p in pending[:MAX_CANDIDATES]
                ),
                {"title": render("button_none_of_these"), "payload": NONE_OF_THESE},
            ],
        )
        return []


class ActionNoneOfThese(Action):
    """ "Không phải các thủ tục trên": the honest no-match reply for the question asked."""

    def name(self) -> str:
        return "action_none_of_these"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return honest_no_match(
            dispatcher,
            tracker,
            tracker.get_slot("last_question"),
            "none_of_these",
            list(tracker.get_slot("candidates") or []),
        )


class ActionShowCandidates(Action):
    """ "Không phải cái đó": offer the other candidates of the last search again."""

    def name(self) -> str:
        return "action_show_candidates"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        current = tracker.get_slot("procedure_id")
        candidates = [c for c in tracker.get_slot("candidates") or [] if c != current]
        if current is None and candidates:
            # "Không phải" to a pending clarification: none of these candidates.
            question = tracker.get_slot("last_question")
            return honest_no_match(dispatcher, tracker, question, "none_of_these", candidates)
        if not candidates and tracker.get_slot("last_question"):
            result = search(dispatcher, str(tracker.get_slot("last_question")))
            candidates = [h.id for h in result.results if h.id != current] if result else []
        searcher = runtime.searcher()
        named = [(c, p.name) for c in candidates if (p := searcher.procedure(c)) is not None]
        if not named:
            dispatcher.utter_message(text=render("no_candidates"))
            return [SlotSet("procedure_id", None)]
        return [SlotSet("procedure_id", None), *clarify(dispatcher, named, intro="other_candidates")]
