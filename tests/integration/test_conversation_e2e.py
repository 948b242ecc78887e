"""A citizen's whole conversation through POST /api/chat against the real processes
(gateway, Rasa with the trained model, action server): a question that needs a
clarifying question, a choice, a follow-up about the fee, feedback, "not that one",
a handoff; then an operator logs in and sees the feedback and the ticket."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa

from bot.console.accounts import add_operator
from bot.settings import Settings
from knowledge.db import create_db_engine
from tests.console.helpers import login as console_login
from tests.integration.conftest import chat, texts

pytestmark = pytest.mark.integration


def buttons(body: dict[str, object]) -> list[dict[str, str]]:
    return [b for m in body["messages"] for b in m.get("buttons") or []]  # type: ignore[union-attr, attr-defined]


def test_question_clarification_fee_feedback_and_handoff(stack: dict[str, object]) -> None:
    base = str(stack["base"])

    # An ambiguous question (renew or reissue?) gets a clarifying question with candidates.
    first = chat(base, None, "đổi bằng lái xe máy hết hạn")
    session = str(first["session"])
    assert "Anh/Chị muốn hỏi thủ tục nào" in texts(first)
    *candidates, way_out = buttons(first)
    assert way_out == {"title": "Không phải các thủ tục trên", "payload": "/none_of_these"}
    assert 2 <= len(candidates) <= 3
    titles = [b["title"] for b in candidates]
    assert "Đổi giấy phép lái xe" in titles, titles

    # The citizen presses the right one: the short answer, aspect buttons and the official link.
    chosen = next(b for b in candidates if b["title"] == "Đổi giấy phép lái xe")
    answer = chat(base, session, chosen["payload"])
    assert "Đổi giấy phép lái xe" in texts(answer)
    assert "Thời gian giải quyết" in texts(answer) and "Lệ phí" in texts(answer)
    # Buttons only for what the catalogue knows about this procedure.
    assert {"Hồ sơ cần gì", "Nộp ở đâu", "Nộp trực tuyến"} <= {b["title"] for b in buttons(answer)}
    links = [link for m in answer["messages"] for link in m.get("links") or []]  # type: ignore[union-attr, attr-defined]
    assert links and all(link["url"].startswith("https://") for link in links)
    assert "Câu trả lời có giúp ích" in texts(answer)

    # A follow-up without naming the procedure stays on it.
    fee = chat(base, session, "còn lệ phí thì sao")
    assert "lệ phí" in texts(fee).lower() and '"Đổi giấy phép lái xe"' in texts(fee)
    duration = chat(base, session, "mat may ngay vay")
    assert "Đổi giấy phép lái xe" in texts(duration)

    # Feedback through the 👎 button is thanked.
    down = next(b for b in buttons(answer) if b["title"].startswith("👎"))
    thanks = chat(base, session, down["payload"])
    assert "Cảm ơn Anh/Chị đã góp ý" in texts(thanks)

    # "Not that one" brings the other candidates back, without the one rejected.
    again = chat(base, session, "không phải cái đó")
    offered = {b["title"] for b in buttons(again)}
    assert set(titles) - {"Đổi giấy phép lái xe"} <= offered and "Đổi giấy phép lái xe" not in offered

    # A human officer: a ticket code and what happens next.
    handoff = chat(base, session, "cho tôi nói chuyện với cán bộ")
    ticket = re.search(r"HT-[0-9A-F]{6}", texts(handoff))
    assert ticket, texts(handoff)
    assert "1900" in texts(handoff) and "giờ" in texts(handoff)

    # The operator sees both in the console.
    settings = Settings(var_dir=stack["logs"] / "var")  # type: ignore[operator]
    add_operator(create_db_engine(settings.sqlalchemy_url), "canbo-e2e", "mat-khau-dai-du-1")
    with httpx.Client(base_url=base, timeout=10) as operator:
        assert console_login(operator, "canbo-e2e", "mat-khau-dai-du-1").status_code == 303
        tickets = operator.get("/api/admin/handoffs").json()
        assert any(t["code"] == ticket.group(0) for t in tickets)
        feedback = operator.get("/api/admin/feedback").json()
        assert any(f["rating"] == "down" and f["procedure_id"] == "gplx.doi" for f in feedback), feedback


def test_what_the_catalogue_does_not_hold_is_said_plainly_with_a_way_forward(
    stack: dict[str, object],
) -> None:
    base = str(stack["base"])

    # A licence the province catalogue does not detail: no other procedure's fees, but the
    # honest reply, the national search for the citizen's words and an officer.
    reply = chat(base, None, "giấy phép khai thác cát lòng sông xin ở đâu")
    assert "Danh mục của tôi chưa có hướng dẫn cho việc này" in texts(reply)
    assert "Lệ phí:" not in texts(reply)
    links = [link["url"] for m in reply["messages"] for link in m.get("links") or []]  # type: ignore[union-attr, attr-defined]
    assert any("c%C3%A1t" in url for url in links), links  # "cát", URL-encoded
    assert "/request_human" in [b["payload"] for b in buttons(reply)]

    # A vague family question: a clarifying question with a way out.
    vague = chat(base, None, "hộ khẩu")
    session = str(vague["session"])
    offered = buttons(vague)
    assert offered[-1]["payload"] == "/none_of_these" and len(offered) >= 3
    names = [b["title"] for b in offered[:-1]]

    # While it is pending, "how long" is about those candidates.
    duration = chat(base, session, "mất bao lâu")
    assert all(name in texts(duration) for name in names), texts(duration)

    # None of them: the honest reply, and the question reaches the operators' queue.
    none = chat(base, session, "/none_of_these")
    assert "Danh mục của tôi chưa có hướng dẫn cho việc này" in texts(none)
    settings = Settings(var_dir=stack["logs"] / "var")  # type: ignore[operator]
    with create_db_engine(settings.sqlalchemy_url).connect() as connection:
        queued = connection.execute(sa.text("SELECT question, decision FROM unanswered")).all()
    assert ("hộ khẩu", "none_of_these") in [tuple(row) for row in queued]
