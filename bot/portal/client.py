"""The portal API client: an interface (``PortalClient``) and its httpx implementation.

A province plugs in its own portal by implementing ``PortalClient``. The HTTP client:
per-phase timeouts (connect/read/write/pool) and an overall deadline per lookup, retries
with exponential backoff (tenacity) for transient failures of this idempotent read, a
circuit breaker (purgatory) so that a portal that is down is not hammered, and every
response validated into ``Dossier``. Every failure becomes one of the domain errors.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import httpx
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from bot.portal.errors import DossierNotFound, PortalBadResponse, PortalError, PortalUnavailable
from bot.portal.models import Dossier
from bot.settings import Settings

log = logging.getLogger(__name__)
CIRCUIT = "portal"


@runtime_checkable
class PortalClient(Protocol):
    async def get_dossier(self, code: str) -> Dossier:
        """The dossier with this normalised code; raises a ``PortalError``."""
        ...

    async def aclose(self) -> None: ...


class _Transient(PortalUnavailable):
    """A failure worth retrying (timeout, connection error, 5xx, 429, unreadable body)."""


class _TransientBadResponse(_Transient, PortalBadResponse):
    pass


class HttpPortalClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout | None = None,
        deadline_s: float = 1.8,
        attempts: int = 3,
        backoff_s: float = 0.1,
        backoff_max_s: float = 0.5,
        breaker_threshold: int = 5,
        breaker_reset_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._deadline_s = deadline_s
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._http = httpx.AsyncClient(
            headers={"X-API-Key": api_key, "Accept": "application/json"},
            timeout=timeout or httpx.Timeout(connect=0.5, read=1.2, write=0.5, pool=0.5),
            limits=httpx.Limits(max_keepalive_connections=10, max_connections=50),
            transport=transport,
        )
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=breaker_threshold,
            default_ttl=breaker_reset_s,
            exclude=[DossierNotFound],  # "no such dossier" is a healthy answer
        )
        self._threshold = breaker_threshold
        self._ttl = breaker_reset_s

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> HttpPortalClient:
        options: dict[str, Any] = {
            "timeout": httpx.Timeout(
                connect=settings.portal_connect_timeout_s,
                read=settings.portal_read_timeout_s,
                write=settings.portal_connect_timeout_s,
                pool=settings.portal_connect_timeout_s,
            ),
            "deadline_s": settings.portal_deadline_s,
            "attempts": settings.portal_attempts,
            "breaker_threshold": settings.portal_breaker_threshold,
            "breaker_reset_s": settings.portal_breaker_reset_s,
        }
        options.update(overrides)
        return cls(settings.effective_portal_url, settings.portal_api_key.get_secret_value(), **options)

    async def breaker_state(self) -> str:
        """``closed``, ``opened`` or ``half-opened`` (for readiness and tests)."""
        breaker = await self._breakers.get_breaker(CIRCUIT, self._threshold, self._ttl)
        return breaker.context.state

    async def get_dossier(self, code: str) -> Dossier:
        try:
            async with asyncio.timeout(self._deadline_s):
                async for attempt in AsyncRetrying(
                    retry=retry_if_exception_type(_Transient),
                    stop=stop_after_attempt(self._attempts),
                    wait=wait_exponential(multiplier=self._backoff_s, max=self._backoff_max_s),
                    reraise=True,
                ):
                    with attempt:
                        return await self._guarded_get(code)
        except TimeoutError as error:
            log.warning("portal lookup exceeded the %.1f s deadline", self._deadline_s)
            raise PortalUnavailable("deadline exceeded") from error
        except _TransientBadResponse as error:
            raise PortalBadResponse(str(error)) from error
        except _Transient as error:
            raise PortalUnavailable(str(error)) from error
        raise PortalUnavailable("no attempt made")  # pragma: no cover - tenacity always attempts

    async def _guarded_get(self, code: str) -> Dossier:
        breaker = await self._breakers.get_breaker(CIRCUIT, self._threshold, self._ttl)
        try:
            async with breaker:
                return await self._get(code)
        except OpenedState as error:
            raise PortalUnavailable("circuit open") from error

    async def _get(self, code: str) -> Dossier:
        url = f"{self._base}/api/v1/dossiers/{quote(code, safe='')}"
        try:
            response = await self._http.get(url)
        except httpx.TimeoutException as error:
            log.warning("portal timeout (%s)", type(error).__name__)
            raise _Transient(f"timeout: {type(error).__name__}") from error
        except httpx.HTTPError as error:
            log.warning("portal connection failed (%s)", type(error).__name__)
            raise _Transient(f"connection: {type(error).__name__}") from error
        if response.status_code == 404:
            raise DossierNotFound(code)
        if response.status_code in (401, 403):
            log.error(
                "the portal refused our API key (HTTP %s): check CONGDAN_PORTAL_API_KEY", response.status_code
            )
            raise PortalUnavailable(f"HTTP {response.status_code}")
        if response.status_code == 429 or response.status_code >= 500:
            log.warning("portal answered HTTP %s", response.status_code)
            raise _Transient(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise PortalBadResponse(f"HTTP {response.status_code}")
        try:
            dossier = Dossier.model_validate_json(response.content)
        except ValidationError as error:
            log.warning("portal body did not validate (%d problems)", error.error_count())
            raise _TransientBadResponse("invalid body") from error
        if dossier.code != code:
            raise _TransientBadResponse("the portal answered about another dossier")
        return dossier

    async def aclose(self) -> None:
        await self._http.aclose()


__all__ = [
    "DossierNotFound",
    "HttpPortalClient",
    "PortalBadResponse",
    "PortalClient",
    "PortalError",
    "PortalUnavailable",
]
