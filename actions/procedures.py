"""Actions that answer procedure questions from the catalogue search."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.texts import render
from bot.inbox import channel_of, record_unanswered
from knowledge.analysis import STOPWORDS
from knowledge.models import CHANNEL_LABELS, Procedure
from knowledge.normalize import fold, words
from knowledge.search import IndexNotReady, QueryError, SearchResult

log = logging.getLogger(__name__)

ASPECT_BY_INTENT = {
    "ask_documents": "documents",
    "ask_fee": "fee",
    "ask_duration": "duration",
    "ask_where": "where",
    "ask_online": "online",
    "ask_steps": "steps",
    "ask_legal_basis": "legal_basis",
}
ASPECT_BUTTONS = [
    ("button_documents", "/ask_documents"),
    ("button_fee", "/ask_fee"),
    ("button_duration", "/ask_duration"),
    ("button_where", "/ask_where"),
    ("button_online", "/ask_online"),
]
MAX_CANDIDATES = 3
MAX_DOCUMENTS = 8
MAX_STEPS = 6
WHERE_CHARS = 220


# Words of a follow-up that ask about an aspect rather than name a procedure
# ("còn lệ phí thì sao", "mất mấy ngày", "nop online duoc ko"), accent-folded.
ASPECT_WORDS = frozenset(
    [
        "con",
        "le",
        "phi",
        "tien",
        "bao",
        "nhieu",
        "het",
        "mat",
        "may",
        "ngay",
        "lau",
        "thoi",
        "gian",
        "nop",
        "o",
        "dau",
        "cho",
        "nao",
        "noi",
        "truc",
        "tuyen",
        "online",
        "mang",
        "theo",
        "can",
        "giay",
        "to",
        "ho",
        "so",
        "buoc",
        "lam",
        "nhu",
        "cach",
        "thu",
        "tuc",
        "nay",
        "do",
        "luat",
        "cu",
        "phap",
        "ly",
        "van",
        "ban",
        "quy",
        "dinh",
        "ai",
        "phai",
        "co",
        "neu",
        "muon",
        "roi",
        "xong",
        "tra",
        "ket",
        "qua",
        "gui",
        "internet",
        "vay",
        "ha",
        "a",
        "chuan",
        "bi",
        "nhung",
        "gi",
        "tren",
        "web",
        "trang",
        "dien",
        "tu",
        "lenh",
    ]
)


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
        buttons=[{"title": render(title), "payload": payload} for title, payload in ASPECT_BUTTONS],
        json_message={"links": links_for(procedure)},
    )
    dispatcher.utter_message(response="utter_ask_feedback")
    return [SlotSet("procedure_id", procedure.id), SlotSet("fallback_count", 0.0)]


def clarify(
    dispatcher: CollectingDispatcher, candidates: list[tuple[str, str]], intro: str = "clarify"
) -> list[EventType]:
    dispatcher.utter_message(
        text=render(intro),
        buttons=[
            {"title": name, "payload": f'/choose_procedure{{"procedure_id": "{pid}"}}'}
            for pid, name in candidates[:MAX_CANDIDATES]
        ],
    )
    return [SlotSet("candidates", [pid for pid, _ in candidates[:MAX_CANDIDATES]])]


def no_match(dispatcher: CollectingDispatcher, tracker: Tracker, result: SearchResult) -> list[EventType]:
    record_unanswered(
        runtime.engine(),
        result.query,
        result.decision,
        [h.id for h in result.results[:MAX_CANDIDATES]],
        channel_of(tracker.sender_id),
    )
    dispatcher.utter_message(
        text=render("no_match"),
        buttons=[{"title": render("button_human"), "payload": "/request_human"}],
    )
    count = float(tracker.get_slot("fallback_count") or 0) + 1
    return [SlotSet("fallback_count", count), SlotSet("last_question", result.query)]


def respond_to_search(
    dispatcher: CollectingDispatcher, tracker: Tracker, result: SearchResult
) -> list[EventType]:
    """Answer, ask which candidate, or apologise, as the search decided."""
    events: list[EventType] = [SlotSet("last_question", result.query)]
    if result.decision == "confident":
        procedure = runtime.searcher().procedure(result.results[0].id)
        if procedure is not None:
            return events + answer(dispatcher, procedure)
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
    """The text and links answering one aspect of a procedure."""
    links = links_for(procedure)
    p = procedure
    if aspect == "documents":
        if not p.documents:
            return render("documents_unknown", p=p), links
        forms = [
            {"title": render("form_link", title=shorten(d.form_name or d.name, 60)), "url": d.form_url}
            for d in p.documents
            if d.form_url
        ][:3]
        docs = p.documents[:MAX_DOCUMENTS]
        more = len(p.documents) - len(docs)
        return render("documents", p=p, docs=docs, more=more), forms + links
    if aspect == "fee":
        return render("fee" if p.fees else "fee_unknown", p=p), links
    if aspect == "duration":
        return render("duration" if p.processing_time else "duration_unknown", p=p), links
    if aspect == "where":
        where = p.where or p.agency
        return render("where" if where else "where_unknown", p=p, where=where), links
    if aspect == "online":
        can_online = any(c.startswith("online") for c in p.channels)
        name = "online" if p.channels else "online_unknown"
        return render(name, p=p, online=online_label(p), can_online=can_online), links
    if aspect == "steps":
        return (
            render("steps", p=p, steps=p.steps[:MAX_STEPS]) if p.steps else render("steps_unknown", p=p)
        ), links
    return render("legal_basis" if p.legal_basis else "legal_basis_unknown", p=p), links


class ActionAnswerAspect(Action):
    """Follow-ups ("còn lệ phí thì sao?") about the current procedure or a newly named one."""

    def name(self) -> str:
        return "action_answer_aspect"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = str((tracker.latest_message.get("intent") or {}).get("name") or "")
        aspect = ASPECT_BY_INTENT.get(intent, "documents")
        text = user_text(tracker)
        events: list[EventType] = []
        procedure = None
        if not is_button_payload(text) and names_a_procedure(text):
            # The follow-up may name another procedure: switch to it when the search is sure.
            result = search(dispatcher, text)
            if result is None:
                return []
            if result.decision == "confident":
                procedure = runtime.searcher().procedure(result.results[0].id)
        current = tracker.get_slot("procedure_id")
        if procedure is None and current:
            procedure = runtime.searcher().procedure(str(current))
        if procedure is None:
            dispatcher.utter_message(text=render("which_procedure"))
            return events
        reply, links = aspect_reply(aspect, procedure)
        other_buttons = [
            {"title": render(title), "payload": payload}
            for title, payload in ASPECT_BUTTONS
            if payload != f"/{intent}"
        ]
        dispatcher.utter_message(text=reply, buttons=other_buttons, json_message={"links": links})
        return [SlotSet("procedure_id", procedure.id), SlotSet("fallback_count", 0.0)]


class ActionShowCandidates(Action):
    """ "Không phải cái đó": offer the other candidates of the last search again."""

    def name(self) -> str:
        return "action_show_candidates"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        current = tracker.get_slot("procedure_id")
        candidates = [c for c in tracker.get_slot("candidates") or [] if c != current]
        if not candidates and tracker.get_slot("last_question"):
            result = search(dispatcher, str(tracker.get_slot("last_question")))
            candidates = [h.id for h in result.results if h.id != current] if result else []
        searcher = runtime.searcher()
        named = [(c, p.name) for c in candidates if (p := searcher.procedure(c)) is not None]
        if not named:
            dispatcher.utter_message(text=render("no_candidates"))
            return [SlotSet("procedure_id", None)]
        return [SlotSet("procedure_id", None), *clarify(dispatcher, named, intro="other_candidates")]
