"""The production configuration with the real servers on this machine: PostgreSQL for the
gateway's data and Rasa's tracker store, Redis for Rasa's lock store and the rate limits.
Starts every process as `congdan run` would, holds a conversation, and finds it where an
operator of a production install would look."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from tests.conftest import POSTGRES_ADMIN_URL
from tests.integration.conftest import chat, prepare, stack_env, start, stop, texts, wait_ready

pytestmark = pytest.mark.integration
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory, index_root: Path) -> Iterator[dict[str, str]]:
    name = f"congdan_prod_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    tmp = tmp_path_factory.mktemp("production")
    env = stack_env(tmp, index_root)
    env.update(
        CONGDAN_DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{name}",
        CONGDAN_REDIS_URL=REDIS_URL,
        CONGDAN_NOTIFIER_ENABLED="false",
    )
    settings, procs = prepare(env)
    running = [start(child, env, tmp / f"{child.name}.log") for child in procs.values()]
    base = f"http://127.0.0.1:{settings.port}"
    try:
        wait_ready(base)
        yield {"base": base, "database": name, "logs": str(tmp)}
    finally:
        for process in running:
            stop(process)
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_conversation_state_and_tickets_live_in_postgresql_and_limits_in_redis(
    production: dict[str, str],
) -> None:
    base = production["base"]
    first = chat(base, None, "xin chao")
    session = str(first["session"])
    assert "Xin chào Anh/Chị" in texts(first)
    answer = chat(base, session, "mất căn cước thì làm lại thế nào")
    assert "Cấp lại thẻ căn cước" in texts(answer)
    handoff = chat(base, session, "cho tôi gặp cán bộ")
    assert "HT-" in texts(handoff)

    url = f"postgresql://postgres@127.0.0.1:5432/{production['database']}"
    with psycopg.connect(url) as connection:
        # Rasa's SQL tracker store: the conversation's events, under a server-issued web id.
        # (besides the gateway's one readiness probe per Rasa start).
        senders = [
            row[0]
            for row in connection.execute("SELECT DISTINCT sender_id FROM events")
            if row[0] != "probe:readiness"
        ]
        assert len(senders) == 1 and senders[0].startswith("web:")
        intents = [
            row[0]
            for row in connection.execute(
                "SELECT intent_name FROM events WHERE type_name = 'user' AND sender_id = %s ORDER BY id",
                (senders[0],),
            )
        ]
        assert intents == ["greet", "ask_procedure", "request_human"]
        # The gateway's own tables: the handoff ticket the operator console lists.
        tickets = connection.execute("SELECT code, channel FROM handoff_tickets").fetchall()
        assert len(tickets) == 1 and tickets[0][1] == "web" and tickets[0][0] in texts(handoff)

    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert list(client.scan_iter(match="*congdan*", count=1000)), "no rate-limit keys in Redis"
    finally:
        client.close()
