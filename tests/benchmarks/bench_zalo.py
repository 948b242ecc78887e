"""Zalo webhook benchmark: acknowledgement latency of POST /webhooks/zalo (p50/p99 over
500 signed deliveries arriving open-loop at 20 per second, as Zalo pushes them) while the
bot is busy (every conversation reply takes 300 ms, so several are always in progress), then the time until every reply went through the outbox to a loopback
fake of the Zalo OpenAPI. The gateway runs in its own process (uvicorn, real app, with
only the Rasa call replaced by a slow echo); the fake Zalo and the load generator run in
this one. Writes var/bench/zalo.json. Traffic goes to 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.settings import PROJECT_ROOT, Settings
from knowledge.db import migrate
from tests.benchmarks.common import percentiles, write
from tests.channels.conftest import APP_ID, APP_SECRET, OA_SECRET, signed, text_event
from tests.channels.fake_zalo import FakeZalo, Served
from tests.conftest import free_port

DELIVERIES = 500
ARRIVALS_PER_S = 20.0
REPLY_DELAY_S = 0.3
USERS = 50


def serve_gateway() -> None:
    """Child process: the real gateway app, with a slow echo instead of Rasa."""
    import uvicorn

    from bot.app import create_app
    from bot.conversation import ConversationService

    async def slow_reply(self: ConversationService, sender_id: str, message: str) -> list[dict[str, Any]]:
        await asyncio.sleep(REPLY_DELAY_S)
        return [{"text": f"Đã nhận: {message}", "buttons": [], "links": []}]

    ConversationService.reply = slow_reply  # type: ignore[method-assign]
    settings = Settings()
    uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning")


def gateway_env(var_dir: Path, fake: FakeZalo) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONGDAN_")}
    env.update(
        CONGDAN_VAR_DIR=str(var_dir),
        CONGDAN_INDEX_DIR=str(var_dir / "index"),
        CONGDAN_PORT=str(free_port()),
        CONGDAN_RASA_PORT=str(free_port()),
        CONGDAN_ACTIONS_PORT=str(free_port()),
        CONGDAN_ZALO_APP_ID=APP_ID,
        CONGDAN_ZALO_OA_SECRET_KEY=OA_SECRET,
        CONGDAN_ZALO_APP_SECRET=APP_SECRET,
        CONGDAN_ZALO_ACCESS_TOKEN=fake.access_token,
        CONGDAN_ZALO_REFRESH_TOKEN=fake.refresh_token,
        CONGDAN_ZALO_API_BASE=fake.url,
        CONGDAN_ZALO_OAUTH_BASE=fake.url,
        CONGDAN_LOG_LEVEL="WARNING",
    )
    return env


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gateway exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("gateway did not start")


async def deliver_all(url: str) -> list[float]:
    """Send each delivery at its scheduled time, whatever the previous ones are doing."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:

        async def one(i: int) -> None:
            raw, headers = signed(text_event(str(1000 + i % USERS), f"câu hỏi số {i}", f"bench-{i}"))
            await asyncio.sleep(i / ARRIVALS_PER_S)
            started = time.perf_counter()
            response = await client.post("/webhooks/zalo", content=raw, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"delivery {i}: HTTP {response.status_code} {response.text}")

        await asyncio.gather(*(one(i) for i in range(DELIVERIES)))
    return latencies


def main() -> None:
    fake = FakeZalo(app_id=APP_ID, app_secret=APP_SECRET, access_token="access-0", refresh_token="refresh-0")
    with tempfile.TemporaryDirectory() as tmp, Served(fake.app()) as zalo_server:
        fake.port = zalo_server.port
        env = gateway_env(Path(tmp) / "var", fake)
        migrate(f"sqlite:///{Path(tmp) / 'var' / 'congdan.db'}")
        url = f"http://127.0.0.1:{env['CONGDAN_PORT']}"
        process = subprocess.Popen(
            [sys.executable, __file__, "--gateway"], cwd=PROJECT_ROOT, env=env, start_new_session=True
        )
        try:
            wait_ready(url, process)
            started = time.perf_counter()
            latencies = asyncio.run(deliver_all(url))
            acked_s = time.perf_counter() - started
            deadline = time.monotonic() + 300
            while len(fake.sent) < DELIVERIES and time.monotonic() < deadline:
                time.sleep(0.05)
            delivered_s = time.perf_counter() - started
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    write(
        "zalo",
        {
            "zalo_webhook": {
                "deliveries": DELIVERIES,
                "arrivals_per_s": ARRIVALS_PER_S,
                "users": USERS,
                "conversation_reply_delay_ms": REPLY_DELAY_S * 1000,
                "ack_ms": percentiles(latencies),
                "all_acked_s": round(acked_s, 2),
                "replies_delivered": len(fake.sent),
                "all_delivered_s": round(delivered_s, 2),
                "zalo_api_calls": len(fake.send_calls),
            }
        },
    )
    if len(fake.sent) != DELIVERIES:
        raise SystemExit(f"only {len(fake.sent)} of {DELIVERIES} replies were delivered")


if __name__ == "__main__":
    if sys.argv[1:] == ["--gateway"]:
        serve_gateway()
    else:
        main()
