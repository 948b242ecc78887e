"""Issue 15, gateway: bodies capped for every route (chunked too), a per-address limit
on dossier lookups, API docs off by default, HSTS behind https, session tokens that
expire and travel in a header. Against a real gateway process on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import pytest
from itsdangerous import TimestampSigner

from bot.sessions import SESSION_MAX_AGE_S, SessionTokens
from tests.security.conftest import Gateway

CODE = "000.00.04.H51-200221-0001"


def raw_request(port: int, head: str, chunks: list[bytes]) -> tuple[int, bytes]:
    """Send a request with ``Transfer-Encoding: chunked`` and read the status line and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        try:
            for chunk in chunks:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused early and closed: what we want
        data = b""
        while True:
            try:
                part = sock.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            data += part
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize("path", ["/api/chat", "/webhooks/zalo", "/api/admin/login", "/nowhere"])
def test_a_declared_large_body_is_refused_with_413_on_every_route(gateway: Gateway, path: str) -> None:
    response = gateway.http.post(
        path, content=b"x" * (65 * 1024), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "quá lớn" in response.json()["message"]


def test_a_chunked_body_is_counted_as_it_arrives_and_refused_past_the_cap(gateway: Gateway) -> None:
    head = "POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    payload = json.dumps({"session": None, "message": "a" * (100 * 1024)}).encode()
    chunks = [payload[i : i + 8192] for i in range(0, len(payload), 8192)]
    status, body = raw_request(gateway.port, head, chunks)
    assert status == 413 and "quá lớn" in body.decode()


def test_a_small_chunked_body_still_works(gateway: Gateway) -> None:
    head = "POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    status, body = raw_request(gateway.port, head, [b'{"session": null, ', b'"message": "xin chao"}'])
    assert status == 200 and '"session":"' in body.decode()


def test_the_import_route_takes_a_larger_body_but_not_an_unbounded_one(gateway: Gateway) -> None:
    one_mb = gateway.http.post("/api/admin/import", content=b"x" * (1024 * 1024))
    assert one_mb.status_code != 413  # it reaches the route (which wants a signed-in operator)
    six_mb = gateway.http.post("/api/admin/import", content=b"x" * (6 * 1024 * 1024))
    assert six_mb.status_code == 413


def test_dossier_lookups_are_limited_per_address_across_conversations(gateway: Gateway) -> None:
    for n in range(3):  # CONGDAN_RATE_LIMIT_LOOKUP=3/hour in this gateway, a fresh session each time
        ok = gateway.http.post("/api/chat", json={"session": None, "message": f"hồ sơ {CODE[:-1]}{n}"})
        assert ok.status_code == 200
    spaced = "hồ sơ 000 00 04 h51 200221 0009 đến đâu rồi"  # any form find_code accepts counts
    refused = gateway.http.post("/api/chat", json={"session": None, "message": spaced})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "tra cứu hồ sơ nhiều lần" in refused.json()["message"]
    other = gateway.http.post("/api/chat", json={"session": None, "message": "làm căn cước ở đâu"})
    assert other.status_code == 200  # other questions from that address are not blocked


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_api_docs_are_off_by_default(gateway: Gateway, path: str) -> None:
    assert gateway.http.get(path).status_code == 404


def test_api_docs_and_hsts_when_settings_ask(gateway_with: Callable[..., Gateway], gateway: Gateway) -> None:
    assert "strict-transport-security" not in gateway.http.get("/healthz").headers
    on = gateway_with(CONGDAN_DOCS_ENABLED="true", CONGDAN_PUBLIC_URL="https://hoidap.example.gov.vn")
    assert on.http.get("/openapi.json").status_code == 200
    assert on.http.get("/healthz").headers["strict-transport-security"].startswith("max-age=31536000")


def test_notifications_take_the_token_in_a_header_and_still_in_the_query(gateway: Gateway) -> None:
    session = gateway.http.post("/api/chat", json={"session": None, "message": "xin chào"}).json()["session"]
    by_header = gateway.http.get("/api/notifications", headers={"X-Session-Token": session})
    assert by_header.status_code == 200 and by_header.json() == {"notifications": []}
    assert gateway.http.get("/api/notifications", params={"session": session}).status_code == 200
    missing = gateway.http.get("/api/notifications")
    assert missing.status_code == 401 and "Phiên trò chuyện" in missing.json()["message"]


def test_session_tokens_expire_after_30_days(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = SessionTokens("s" * 40)
    fresh = tokens.issue()
    assert tokens.sender_id(fresh)
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - SESSION_MAX_AGE_S - 60)
    old = tokens.issue()  # issued 30 days and a minute ago
    monkeypatch.undo()
    assert tokens.sender_id(old) is None
    assert tokens.sender_id(fresh)


def test_the_gateway_masks_its_own_log_lines_even_under_plain_uvicorn(
    gateway_with: Callable[..., Gateway],
) -> None:
    """Started without the supervisor's log configuration, with uvicorn's access log on:
    query strings with a phone number, an e-mail address or a dossier code are masked."""
    started = gateway_with(access_log=True)
    started.http.get("/api/search", params={"q": "gọi 0912 345 678 hay mail an.nguyen@example.vn"})
    started.http.get("/api/search", params={"q": "hồ sơ 000.00.04.h51-200221-0001"})
    started.http.get("/api/notifications", params={"session": "x"})
    deadline_lines = started.log.read_text(encoding="utf-8", errors="replace")
    assert "/api/search" in deadline_lines  # the access log is there…
    for secret in ("345", "678", "an.nguyen", "example.vn", "h51", "200221"):
        assert secret not in deadline_lines  # …without the personal data
