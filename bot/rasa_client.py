"""The one client of the Rasa server (REST channel, loopback only).

Each message carries the turn's request id in its metadata (Rasa stores it with the
user event and passes it to the action server); each round trip is timed for
``/metrics``."""

from __future__ import annotations

import time
from typing import Any

import httpx

from bot.logs import request_id
from bot.metrics import observe_rasa


class RasaUnavailable(RuntimeError):
    """Rasa did not answer in time or answered with an error."""


def merge_messages(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's REST output to the public message shape; custom link payloads join the
    message before them."""
    messages: list[dict[str, Any]] = []
    for item in raw:
        custom = item.get("custom") if isinstance(item.get("custom"), dict) else None
        text = item.get("text")
        if isinstance(text, str) and text:
            buttons = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                for b in item.get("buttons") or []
                if isinstance(b, dict)
            ]
            messages.append({"text": text, "buttons": buttons, "links": []})
        if custom and isinstance(custom.get("links"), list):
            links = [
                {"title": str(link.get("title", "")), "url": str(link.get("url", ""))}
                for link in custom["links"]
                if isinstance(link, dict)
            ]
            if messages:
                messages[-1]["links"].extend(links)
            else:
                messages.append({"text": "", "buttons": [], "links": links})
    return messages


class RasaClient:
    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._base = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(1.0, timeout_s)),
            limits=httpx.Limits(max_keepalive_connections=20, max_connections=100),
        )

    async def send(self, sender_id: str, message: str) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"sender": sender_id, "message": message}
        if rid := request_id.get():
            payload["metadata"] = {"request_id": rid}
        started = time.perf_counter()
        try:
            response = await self._client.post(f"{self._base}/webhooks/rest/webhook", json=payload)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            observe_rasa(time.perf_counter() - started, ok=False)
            raise RasaUnavailable(type(error).__name__) from error
        observe_rasa(time.perf_counter() - started, ok=True)
        if not isinstance(body, list):
            raise RasaUnavailable("unexpected body")
        return merge_messages([m for m in body if isinstance(m, dict)])

    async def channel_up(self) -> bool:
        try:
            response = await self._client.get(f"{self._base}/webhooks/rest/", timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        await self._client.aclose()
