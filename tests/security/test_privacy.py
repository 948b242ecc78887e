"""Issue 15, personal data: `congdan privacy export / delete / purge`, the retention period,
masking before storage, and the privacy notice. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot import privacy
from bot.console.tables import audit_log, handoff_replies
from bot.inbox import conversation_key, record_feedback, record_unanswered
from bot.sessions import SessionTokens, load_or_create_secret
from bot.settings import Settings
from knowledge.db import (
    create_db_engine,
    dossier_lookup_attempts,
    dossier_subscriptions,
    feedback,
    handoff_tickets,
    migrate,
    notifications,
    outbox,
    unanswered,
    utcnow,
    zalo_users,
)
from tests.conftest import REPO
from tests.security.conftest import Gateway

NOW = utcnow()
OLD = NOW - dt.timedelta(days=91)


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var", database_url=database_url)  # type: ignore[call-arg]


@pytest.fixture
def tracker(config: Settings, engine: Engine) -> Iterator[Engine]:
    """Rasa's `events` table where Rasa keeps it: the same PostgreSQL, or var/rasa_tracker.db."""
    if config.database_url and config.database_url.startswith("postgresql"):
        store = create_db_engine(config.database_url)
    else:
        store = create_db_engine(f"sqlite:///{config.tracker_db_path}")
    privacy.tracker_events.create(store)
    yield store
    store.dispose()


def seed(engine: Engine, tracker: Engine, sender: str, at: dt.datetime, tag: str) -> None:
    user = sender.removeprefix("zalo:") if sender.startswith("zalo:") else None
    code = f"HT-{tag.upper()[:6]}"
    with engine.begin() as c:
        c.execute(
            handoff_tickets.insert().values(
                code=code, conversation=sender, channel="web", reason="asked", question=f"cần cán bộ {tag}",
                status="open", at=at,
            )
        )  # fmt: skip
        c.execute(
            handoff_replies.insert().values(
                ticket_code=code, author="cb", text=f"trả lời {tag}", at=at, delivery="web"
            )
        )
        c.execute(
            feedback.insert().values(
                conversation=conversation_key(sender), question=f"hỏi {tag}", rating="up", at=at
            )
        )
        c.execute(
            unanswered.insert().values(
                question=f"chưa trả lời {tag}", decision="no_match", candidates=[], status="open", at=at
            )
        )
        sub = c.execute(
            dossier_subscriptions.insert().values(
                conversation=sender,
                channel="web",
                dossier_code=f"000.00.04.H51-200221-{tag[:4]}",
                active=True,
                created_at=at,
            )
        ).inserted_primary_key[0]
        c.execute(
            notifications.insert().values(
                subscription_id=sub,
                conversation=sender,
                change_key=tag,
                status=4,
                text=f"đổi {tag}",
                state="pending",
                created_at=at,
            )
        )
        c.execute(
            dossier_lookup_attempts.insert().values(
                conversation=sender, dossier_key=tag, success=False, at=at
            )
        )
        if user:
            c.execute(zalo_users.insert().values(user_id=user, last_message_at=at))
            c.execute(
                outbox.insert().values(
                    channel="zalo", recipient=user, payload={"text": f"gửi {tag}"}, state="sent", attempts=1,
                    next_attempt_at=at, created_at=at,
                )
            )  # fmt: skip
    with tracker.begin() as c:
        for n in range(3):
            c.execute(
                privacy.tracker_events.insert().values(
                    sender_id=sender,
                    type_name="user",
                    timestamp=at.timestamp() + n,
                    data=json.dumps({"text": f"nói {tag}"}),
                )
            )


def audit_actions(engine: Engine) -> list[Any]:
    with engine.connect() as c:
        return list(c.execute(sa.select(audit_log).order_by(audit_log.c.id)))


def test_export_gives_everything_about_one_conversation_and_nothing_else(
    engine: Engine, tracker: Engine, config: Settings
) -> None:
    seed(engine, tracker, "zalo:9001", NOW, "alpha")
    seed(engine, tracker, "web:someone-else-entirely", NOW, "omega")
    data = privacy.export(engine, config, "zalo:9001", "admin-a")
    text = json.dumps(data, ensure_ascii=False)
    assert "alpha" in text and "omega" not in text
    assert (
        len(data["conversation_events"]) == 3 and data["handoff_tickets"][0]["question"] == "cần cán bộ alpha"
    )
    assert data["handoff_replies"][0]["text"] == "trả lời alpha" and data["outbox"][0]["payload"] == {
        "text": "gửi alpha"
    }
    assert data["zalo_user"][0]["user_id"] == "9001" and len(data["feedback"]) == 1
    [entry] = audit_actions(engine)
    assert (entry.actor, entry.action) == ("admin-a", "privacy.export") and "9001" not in str(entry.target)


def test_delete_erases_one_conversation_everywhere_and_says_what(
    engine: Engine, tracker: Engine, config: Settings
) -> None:
    seed(engine, tracker, "zalo:9001", NOW, "alpha")
    seed(engine, tracker, "web:someone-else-entirely", NOW, "omega")
    removed = privacy.delete(engine, config, "zalo:9001", "admin-a")
    assert removed == {
        "handoff_replies": 1, "handoff_tickets": 1, "feedback": 1, "notifications": 1, "dossier_subscriptions": 1,
        "dossier_lookup_attempts": 1, "outbox": 1, "zalo_users": 1, "conversation_events": 3,
    }  # fmt: skip
    after = json.dumps(privacy.export(engine, config, "zalo:9001", "admin-a"), ensure_ascii=False)
    assert "alpha" not in after
    assert "omega" in json.dumps(
        privacy.export(engine, config, "web:someone-else-entirely", "x"), ensure_ascii=False
    )
    assert [e.action for e in audit_actions(engine)][:2] == ["privacy.delete", "privacy.export"]
    assert audit_actions(engine)[0].detail["removed"]["conversation_events"] == 3


def test_purge_removes_what_is_older_than_the_retention_period(
    engine: Engine, tracker: Engine, config: Settings
) -> None:
    seed(engine, tracker, "zalo:1", OLD, "old")
    seed(engine, tracker, "zalo:2", NOW - dt.timedelta(days=89), "recent")
    removed = privacy.purge(engine, config, "cli:tester")
    assert (
        removed["conversation_events"] == 3 and removed["unanswered"] == 1 and removed["handoff_tickets"] == 1
    )
    assert all(count == 1 for kind, count in removed.items() if kind != "conversation_events")
    gone = privacy.export(engine, config, "zalo:1", "x")
    assert all(gone[kind] == [] for kind in ("conversation_events", "feedback", "handoff_tickets", "outbox"))
    kept = privacy.export(engine, config, "zalo:2", "x")
    assert len(kept["conversation_events"]) == 3 and len(kept["handoff_tickets"]) == 1
    with engine.connect() as c:
        assert [q for (q,) in c.execute(sa.select(unanswered.c.question))] == ["chưa trả lời recent"]


def test_the_daily_purge_is_audited_only_when_it_removed_something(
    engine: Engine, tracker: Engine, config: Settings
) -> None:
    assert sum(privacy.purge(engine, config, "system").values()) == 0
    assert audit_actions(engine) == []
    seed(engine, tracker, "zalo:1", OLD, "old")
    privacy.purge(engine, config, "system")
    assert [e.action for e in audit_actions(engine)] == ["privacy.purge"]


def test_phone_and_id_numbers_are_masked_before_the_queue_and_feedback_store_them(engine: Engine) -> None:
    record_unanswered(engine, "tôi sđt 0912 345 678, cccd 001099012345 hỏi trợ cấp", "no_match", [], "web")
    record_feedback(engine, "web:x", "down", "gọi 028 3823 4567 không ai nghe", None)
    with engine.connect() as c:
        stored = [
            *c.execute(sa.select(unanswered.c.question)).scalars(),
            *c.execute(sa.select(feedback.c.question)).scalars(),
        ]
    assert stored == ["tôi sđt [SĐT], cccd [SỐ-ĐỊNH-DANH] hỏi trợ cấp", "gọi [SĐT] không ai nghe"]


def cli(var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONGDAN_")}
    env["CONGDAN_VAR_DIR"] = str(var_dir)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "privacy", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_takes_the_web_token_as_api_chat_returned_it(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    url = f"sqlite:///{var_dir / 'congdan.db'}"
    migrate(url)
    token = SessionTokens(load_or_create_secret(None, var_dir)).issue()
    sender = SessionTokens(load_or_create_secret(None, var_dir)).sender_id(token)
    assert sender
    engine = create_db_engine(url)
    tracker = create_db_engine(f"sqlite:///{var_dir / 'rasa_tracker.db'}")
    privacy.tracker_events.create(tracker)
    seed(engine, tracker, sender, NOW, "beta")
    exported = cli(var_dir, "export", token)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["feedback"][0]["question"] == "hỏi beta"
    deleted = cli(var_dir, "delete", token, "--actor", "dpo")
    assert (
        deleted.returncode == 0
        and "- conversation_events: 3" in deleted.stdout
        and "- feedback: 1" in deleted.stdout
    )
    assert json.loads(cli(var_dir, "export", token).stdout)["conversation_events"] == []
    purged = cli(var_dir, "purge")
    assert purged.returncode == 0 and "90 ngày" in purged.stdout
    assert [e.action for e in audit_actions(engine)] == [
        "privacy.export",
        "privacy.delete",
        "privacy.export",
        "privacy.purge",
    ]
    assert audit_actions(engine)[1].actor == "dpo"
    engine.dispose()
    tracker.dispose()


@pytest.mark.parametrize("identifier", ["web:forged", "not-a-token", "zalo:", "zalo:a b"])
def test_the_cli_refuses_what_is_not_a_token_or_a_zalo_id(tmp_path: Path, identifier: str) -> None:
    result = cli(tmp_path / "var", "delete", identifier)
    assert result.returncode == 2 and "Không nhận ra mã" in result.stderr and "Traceback" not in result.stderr


def test_the_privacy_notice_names_the_organisation_the_period_and_the_rights(
    gateway_with: Callable[..., Gateway],
) -> None:
    started = gateway_with(
        CONGDAN_PRIVACY_ORG_NAME="Trung tâm Phục vụ hành chính công tỉnh Vĩnh Long",
        CONGDAN_PRIVACY_CONTACT="dpo@vinhlong.gov.vn, 0270 3822 123",
        CONGDAN_RETENTION_DAYS="30",
    )
    page = started.http.get("/privacy")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for expected in ("Vĩnh Long", "dpo@vinhlong.gov.vn", "30 ngày", "91/2025/QH15", "yêu cầu xóa", "Anh/Chị"):
        assert expected in page.text
    assert "frame-ancestors" in page.headers["content-security-policy"]
