"""Rate limits (in memory and in the real Redis on 127.0.0.1:6379) and the gateway's 429 answers;
CORS for embedding origins (allowed and denied)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.ratelimit import RateLimiter
from bot.settings import Settings, SettingsError, load_settings
from tests.conftest import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"


# ---- the limiter itself -------------------------------------------------------------------


async def test_memory_limit_refuses_past_the_limit_with_a_retry_delay() -> None:
    limiter = RateLimiter({"session": "3/minute"})
    assert limiter.backend == "memory"
    results = [await limiter.hit("session", "web:a") for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert 1 <= results[-1].retry_after_s <= 60
    # Another conversation and another scope have their own budgets.
    assert (await limiter.hit("session", "web:b")).allowed
    assert (await limiter.hit("ip", "web:a")).allowed


async def test_memory_limit_reset_lets_requests_through_again() -> None:
    limiter = RateLimiter({"ip": "1/hour"})
    assert (await limiter.hit("ip", "10.0.0.1")).allowed
    refused = await limiter.hit("ip", "10.0.0.1")
    assert not refused.allowed and 3000 < refused.retry_after_s <= 3600
    await limiter.reset()
    assert (await limiter.hit("ip", "10.0.0.1")).allowed


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"congdan-test-{uuid.uuid4().hex}"
    yield prefix
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"*{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_redis_limit_is_shared_between_gateway_instances(redis_prefix: str) -> None:
    first = RateLimiter({"session": "2/minute"}, REDIS_URL, key_prefix=redis_prefix)
    second = RateLimiter({"session": "2/minute"}, REDIS_URL, key_prefix=redis_prefix)
    assert first.backend == "redis"
    assert (await first.hit("session", "web:x")).allowed
    assert (await second.hit("session", "web:x")).allowed
    refused = await first.hit("session", "web:x")
    assert not refused.allowed and 1 <= refused.retry_after_s <= 60
    assert (await second.hit("session", "web:y")).allowed

    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"*{redis_prefix}*")]
    finally:
        await client.aclose()
    assert keys, "the counts must live in Redis"


async def test_redis_down_lets_requests_through() -> None:
    limiter = RateLimiter({"ip": "1/minute"}, f"redis://127.0.0.1:{free_port()}/0")
    assert (await limiter.hit("ip", "a")).allowed
    assert (await limiter.hit("ip", "a")).allowed


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CONGDAN_RATE_LIMIT_IP", "lots"),
        ("CONGDAN_RATE_LIMIT_SESSION", "20 per"),
        ("CONGDAN_ALLOWED_ORIGINS", "cong.example.gov.vn"),
        ("CONGDAN_ALLOWED_ORIGINS", "https://ok.example.vn,https://a.example.vn/path"),
    ],
)
def test_bad_limit_or_origin_settings_are_named(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert key in str(error.value)


def test_origin_list_is_parsed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONGDAN_ALLOWED_ORIGINS", " https://a.example.vn/ , http://b.example.vn:8080 ,")
    assert load_settings().allowed_origin_list == ["https://a.example.vn", "http://b.example.vn:8080"]
    assert settings.allowed_origin_list == []


# ---- through the gateway (Rasa deliberately unreachable: replies are the polite apology) ----

PORTAL = "https://dichvucong.example.gov.vn"


@pytest.fixture
def client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CONGDAN_RASA_PORT", str(free_port()))
    monkeypatch.setenv("CONGDAN_ACTIONS_PORT", str(free_port()))
    monkeypatch.setenv("CONGDAN_RATE_LIMIT_SESSION", "3/minute")
    monkeypatch.setenv("CONGDAN_RATE_LIMIT_IP", "6/minute")
    monkeypatch.setenv("CONGDAN_ALLOWED_ORIGINS", PORTAL)
    config = Settings()
    with TestClient(create_app(config)) as test_client:
        yield test_client


def test_a_chatty_session_gets_429_with_a_vietnamese_message_and_retry_after(client: TestClient) -> None:
    session = client.post("/api/chat", json={"session": None, "message": "xin chào"}).json()["session"]
    statuses = [
        client.post("/api/chat", json={"session": session, "message": f"câu {i}"}).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 200]
    refused = client.post("/api/chat", json={"session": session, "message": "câu nữa"})
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_requests"
    assert "Anh/Chị gửi nhanh quá" in refused.json()["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # A new conversation from the same address still has room under the per-address limit.
    fresh = client.post("/api/chat", json={"session": None, "message": "xin chào"})
    assert fresh.status_code == 200


def test_one_address_gets_429_across_sessions_and_on_search(client: TestClient) -> None:
    codes = [client.post("/api/chat", json={"session": None, "message": "a"}).status_code for _ in range(6)]
    assert codes == [200] * 6
    chat = client.post("/api/chat", json={"session": None, "message": "a"})
    search = client.get("/api/search", params={"q": "khai sinh"})
    for response in (chat, search):
        assert response.status_code == 429
        assert "vui lòng chờ" in response.json()["message"]
        assert int(response.headers["Retry-After"]) >= 1
    assert client.get("/healthz").status_code == 200  # other routes are not limited


def test_cors_allows_the_configured_portal_on_chat_and_widget(client: TestClient) -> None:
    preflight = client.options(
        "/api/chat",
        headers={
            "Origin": PORTAL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == PORTAL
    assert "POST" in preflight.headers["access-control-allow-methods"]
    reply = client.post(
        "/api/chat", json={"session": None, "message": "xin chào"}, headers={"Origin": PORTAL}
    )
    assert reply.headers["access-control-allow-origin"] == PORTAL
    widget = client.get("/widget.js", headers={"Origin": PORTAL})
    assert widget.status_code == 200 and widget.headers["access-control-allow-origin"] == PORTAL


def test_an_embedded_widget_may_poll_its_notifications_with_the_token_header(client: TestClient) -> None:
    preflight = client.options(
        "/api/notifications",
        headers={
            "Origin": PORTAL,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-session-token",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == PORTAL
    assert "x-session-token" in preflight.headers["access-control-allow-headers"].lower()


def test_cors_denies_other_origins_and_other_routes(client: TestClient) -> None:
    other = "https://evil.example.com"
    preflight = client.options(
        "/api/chat", headers={"Origin": other, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    reply = client.post("/api/chat", json={"session": None, "message": "xin chào"}, headers={"Origin": other})
    assert "access-control-allow-origin" not in reply.headers
    # Routes outside the embedding surface never answer CORS, even for the listed portal.
    admin = client.get("/api/search", params={"q": "khai sinh"}, headers={"Origin": PORTAL})
    assert "access-control-allow-origin" not in admin.headers


def test_demo_page_and_widget_are_served_under_the_csp(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp
    assert "Cổng Dịch vụ công tỉnh …" in page.text
    assert '<script src="/widget.js" defer' in page.text
    assert "<script>" not in page.text and "onclick" not in page.text  # no inline script
    widget = client.get("/widget.js")
    assert widget.headers["content-type"].startswith("application/javascript")
    assert "innerHTML" not in widget.text
