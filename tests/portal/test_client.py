"""The HTTP portal client against the real simulator process, with every injected fault."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import httpx
import pytest

from bot.portal.client import HttpPortalClient, PortalClient
from bot.portal.errors import DossierNotFound, PortalBadResponse, PortalUnavailable
from tests.conftest import REPO, free_port
from tests.portal.conftest import Sim, make_client, sim_env


def listed(tmp_path) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "portal-sim", "--list"],
        cwd=REPO,
        env=sim_env(free_port(), tmp_path),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def code_with_status(sim: Sim, status: int, index: int = 0) -> str:
    return str([d["code"] for d in sim.dossiers() if d["status"] == status][index])


async def test_portal_sim_list_is_exactly_what_the_simulator_serves(sim: Sim, tmp_path) -> None:
    rows = listed(tmp_path)
    assert len(rows) >= 50
    assert {r["status"] for r in rows} == set(range(1, 11))
    assert all(set(r) == {"code", "phone_last4", "status"} for r in rows)
    assert all(isinstance(r["status"], int) and len(str(r["phone_last4"])) == 4 for r in rows)
    client = make_client(sim.base)
    try:
        for row in rows:
            dossier = await client.get_dossier(str(row["code"]))
            assert dossier.status == row["status"]
            assert dossier.phone_matches(str(row["phone_last4"]))
    finally:
        await client.aclose()
    served = {(d["code"], d["phone_last4"], d["status"]) for d in sim.dossiers()}
    assert served == {(r["code"], r["phone_last4"], r["status"]) for r in rows}


def test_the_http_client_implements_the_portal_interface() -> None:
    assert isinstance(HttpPortalClient("http://127.0.0.1:1", "k"), PortalClient)


def test_simulator_requires_the_api_key_and_publishes_openapi(sim: Sim) -> None:
    code = code_with_status(sim, 4)
    assert httpx.get(f"{sim.base}/api/v1/dossiers/{code}").status_code == 401
    wrong = httpx.get(f"{sim.base}/api/v1/dossiers/{code}", headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401
    assert httpx.post(f"{sim.base}/_admin/faults", json={"error_rate": 1}).status_code == 401
    spec = httpx.get(f"{sim.base}/openapi.json").json()
    assert "/api/v1/dossiers/{code}" in spec["paths"]


async def test_wrong_api_key_is_unavailable_not_retried(sim: Sim) -> None:
    client = make_client(sim.base, api_key="wrong")
    before = sim.served()
    try:
        with pytest.raises(PortalUnavailable):
            await client.get_dossier(code_with_status(sim, 4))
    finally:
        await client.aclose()
    assert sim.served() == before  # rejected by the auth check before the handler


async def test_status_5_dossier_carries_what_to_add_and_where(sim: Sim) -> None:
    client = make_client(sim.base)
    try:
        dossier = await client.get_dossier(code_with_status(sim, 5))
    finally:
        await client.aclose()
    assert dossier.supplement is not None and dossier.supplement.documents and dossier.supplement.where
    assert [h.status for h in dossier.history][-1] == 5
    assert dossier.expected_return_date is not None


async def test_unknown_code_is_not_found_and_not_retried(sim: Sim) -> None:
    client = make_client(sim.base)
    before = sim.served()
    try:
        with pytest.raises(DossierNotFound):
            await client.get_dossier("000.00.99.H99-990101-9999")
    finally:
        await client.aclose()
    assert sim.served() == before + 1


async def test_transient_errors_are_retried_with_backoff_until_success(sim: Sim) -> None:
    code = code_with_status(sim, 2)
    sim.faults(fail_next=2, error_status=503)
    client = make_client(sim.base, attempts=3)
    before = sim.served()
    try:
        dossier = await client.get_dossier(code)
    finally:
        await client.aclose()
    assert dossier.code == code
    assert sim.served() == before + 3


@pytest.mark.parametrize("error_status", [500, 502, 503, 429])
async def test_persistent_errors_become_portal_unavailable_after_all_attempts(
    sim: Sim, error_status: int
) -> None:
    sim.faults(error_rate=1.0, error_status=error_status)
    client = make_client(sim.base, attempts=3)
    before = sim.served()
    try:
        with pytest.raises(PortalUnavailable):
            await client.get_dossier(code_with_status(sim, 2))
    finally:
        await client.aclose()
    assert sim.served() == before + 3


async def test_malformed_body_is_a_bad_response(sim: Sim) -> None:
    sim.faults(malformed_rate=1.0)
    client = make_client(sim.base, attempts=2)
    try:
        with pytest.raises(PortalBadResponse):
            await client.get_dossier(code_with_status(sim, 2))
    finally:
        await client.aclose()


async def test_body_of_the_wrong_shape_is_a_bad_response(sim: Sim) -> None:
    sim.faults(invalid_rate=1.0)
    client = make_client(sim.base, attempts=1)
    try:
        with pytest.raises(PortalBadResponse):
            await client.get_dossier(code_with_status(sim, 2))
    finally:
        await client.aclose()


async def test_slow_portal_hits_the_read_timeout_and_is_retried(sim: Sim) -> None:
    sim.faults(latency_s=1.0)
    client = make_client(
        sim.base,
        attempts=2,
        deadline_s=10.0,
        timeout=httpx.Timeout(connect=0.5, read=0.2, write=0.5, pool=0.5),
    )
    before = sim.served()
    try:
        with pytest.raises(PortalUnavailable, match="timeout"):
            await client.get_dossier(code_with_status(sim, 2))
    finally:
        await client.aclose()
    await asyncio.sleep(1.2)  # let the simulator finish the slow requests it accepted
    assert sim.served() == before + 2


async def test_hanging_portal_is_cut_by_the_overall_deadline(sim: Sim) -> None:
    sim.faults(latency_s=60)
    client = make_client(
        sim.base, attempts=5, deadline_s=0.5, timeout=httpx.Timeout(connect=0.5, read=30, write=0.5, pool=0.5)
    )
    try:
        with pytest.raises(PortalUnavailable, match="deadline"):
            await client.get_dossier(code_with_status(sim, 2))
    finally:
        await client.aclose()


async def test_portal_down_is_unavailable() -> None:
    client = make_client(f"http://127.0.0.1:{free_port()}", attempts=2)
    try:
        with pytest.raises(PortalUnavailable, match="connection"):
            await client.get_dossier("000.00.04.H51-200221-0001")
    finally:
        await client.aclose()


async def test_breaker_opens_after_repeated_failures_and_closes_again(sim: Sim) -> None:
    code = code_with_status(sim, 4)
    client = make_client(sim.base, attempts=1, breaker_threshold=2, breaker_reset_s=0.5)
    try:
        sim.faults(error_rate=1.0)
        before = sim.served()
        for _ in range(2):
            with pytest.raises(PortalUnavailable):
                await client.get_dossier(code)
        assert await client.breaker_state() == "opened"
        with pytest.raises(PortalUnavailable, match="circuit open"):
            await client.get_dossier(code)
        assert sim.served() == before + 2  # the open breaker did not call the portal
        sim.clear()
        await asyncio.sleep(0.6)
        assert (await client.get_dossier(code)).code == code  # half-open trial succeeds
        assert await client.breaker_state() == "closed"
    finally:
        await client.aclose()


async def test_not_found_does_not_open_the_breaker(sim: Sim) -> None:
    client = make_client(sim.base, attempts=1, breaker_threshold=2)
    try:
        for _ in range(4):
            with pytest.raises(DossierNotFound):
                await client.get_dossier("000.00.99.H99-990101-9999")
        assert await client.breaker_state() == "closed"
    finally:
        await client.aclose()


async def test_admin_status_change_is_served_with_history(sim: Sim) -> None:
    code = code_with_status(sim, 4, index=3)
    sim.set_status(code, 9)
    client = make_client(sim.base)
    try:
        dossier = await client.get_dossier(code)
    finally:
        await client.aclose()
        sim.set_status(code, 4)  # the simulator is shared by the session: put it back
    assert dossier.status == 9 and [h.status for h in dossier.history][-2:] == [4, 9]
