"""A portal API simulator (FastAPI) with deterministic seeded dossiers.

``congdan portal-sim`` serves it; tests start it with uvicorn on a free loopback port.
Every ``/api`` and ``/_admin`` route needs the ``X-API-Key`` header (401 otherwise), and
the ``/_admin`` routes answer only clients on the loopback interface (404 for anyone
else), even when the simulator is started with ``--host 0.0.0.0``.

- ``GET /api/v1/dossiers/{code}``: one dossier (404 when unknown).
- ``POST /_admin/faults``: inject latency, errors, malformed or invalid bodies;
  ``DELETE /_admin/faults`` clears them. ``GET /_admin/stats``: requests served.
- ``POST /_admin/dossiers/{code}/status``: move a dossier to another status.
- ``GET /_admin/dossiers``: every dossier as ``{code, phone_last4, status}``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import random
import secrets
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from bot.portal.models import Dossier, Payment, StatusChange, Supplement

SEED = 20260221
COUNT = 60
BASE_DATE = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)
TZ = dt.timezone(dt.timedelta(hours=7))
PROCEDURES = [
    ("Đăng ký khai sinh", "UBND xã Tân Phú"),
    ("Cấp lại thẻ căn cước", "Công an huyện Châu Thành"),
    ("Đăng ký kết hôn", "UBND phường 3"),
    ("Cấp giấy phép xây dựng nhà ở riêng lẻ", "UBND huyện Châu Thành"),
    ("Đổi giấy phép lái xe", "Sở Xây dựng"),
    ("Đăng ký thường trú", "Công an xã Tân Phú"),
    ("Cấp phiếu lý lịch tư pháp", "Sở Tư pháp"),
    ("Đăng ký hộ kinh doanh", "UBND huyện Châu Thành"),
    ("Cấp giấy chứng nhận quyền sử dụng đất lần đầu", "Văn phòng đăng ký đất đai"),
    ("Hưởng trợ cấp thất nghiệp", "Trung tâm dịch vụ việc làm"),
]
SUPPLEMENT_DOCS = [
    ["Bản sao giấy chứng sinh có chứng thực"],
    ["Ảnh chân dung 4x6 nền trắng", "Tờ khai đã ký đủ chữ ký"],
    ["Bản vẽ thiết kế có chữ ký của chủ nhà", "Giấy tờ chứng minh quyền sử dụng đất"],
    ["Hợp đồng thuê nhà có công chứng"],
]
# How a dossier reaches each status (national vocabulary, see bot/portal/statuses.py).
PATHS: dict[int, list[int]] = {
    1: [1],
    2: [1, 2],
    3: [1, 3],
    4: [1, 2, 4],
    5: [1, 2, 4, 5],
    6: [1, 2, 4, 6],
    7: [1, 2, 7],
    8: [1, 2, 4, 8],
    9: [1, 2, 4, 9],
    10: [1, 2, 4, 9, 10],
}


def seed_dossiers() -> list[Dossier]:
    """The seeded dossiers: the same on every run (fixed seed), every status 1–10."""
    rng = random.Random(SEED)
    dossiers = []
    for index in range(COUNT):
        status = index % 10 + 1
        name, agency = PROCEDURES[rng.randrange(len(PROCEDURES))]
        received = BASE_DATE + dt.timedelta(days=rng.randrange(0, 60), hours=rng.randrange(0, 8))
        code = (
            f"000.00.{rng.randrange(1, 30):02d}.H{rng.randrange(10, 99)}-"
            f"{received.astimezone(TZ):%y%m%d}-{index + 1:04d}"
        )
        phone = "0" + rng.choice(["9", "8", "3", "7"]) + "".join(str(rng.randrange(10)) for _ in range(8))
        history = []
        at = received
        for step in PATHS[status]:
            history.append(StatusChange(status=step, at=at))
            at = at + dt.timedelta(days=rng.randrange(1, 5), hours=rng.randrange(0, 6))
        supplement = None
        if status == 5:
            supplement = Supplement(
                documents=SUPPLEMENT_DOCS[rng.randrange(len(SUPPLEMENT_DOCS))],
                where=f"Bộ phận một cửa {agency}, hoặc bổ sung trực tuyến trên Cổng Dịch vụ công",
                deadline=(history[-1].at + dt.timedelta(days=10)).date(),
            )
        payment = None
        if status == 6:
            payment = Payment(
                amount_vnd=rng.choice([8000, 50000, 100000, 500000]), reason="Lệ phí giải quyết"
            )
        dossiers.append(
            Dossier(
                code=code,
                procedure_name=name,
                agency=agency,
                status=status,
                applicant_phone=phone,
                received_at=received,
                expected_return_date=(received + dt.timedelta(days=rng.randrange(5, 30))).date(),
                history=history,
                supplement=supplement,
                payment=payment,
                url="https://dichvucong.gov.vn/p/home/dvc-tra-cuu-ho-so.html",
            )
        )
    return dossiers


def listing(dossiers: list[Dossier]) -> list[dict[str, Any]]:
    """What ``congdan portal-sim --list`` prints, one object per dossier."""
    return [{"code": d.code, "phone_last4": d.applicant_phone[-4:], "status": d.status} for d in dossiers]


class Faults(BaseModel):
    latency_s: float = Field(0.0, ge=0, le=120)
    error_rate: float = Field(0.0, ge=0, le=1)
    error_status: int = Field(503, ge=400, le=599)
    malformed_rate: float = Field(0.0, ge=0, le=1)  # 200 with a body that is not JSON
    invalid_rate: float = Field(0.0, ge=0, le=1)  # 200 with JSON of the wrong shape
    fail_next: int = Field(0, ge=0, le=1000)  # the next N requests answer error_status
    seed: int = 0


class StatusUpdate(BaseModel):
    status: int = Field(ge=1, le=10)
    note: str | None = Field(None, max_length=500)


class SimState:
    def __init__(self) -> None:
        self.dossiers = {d.code: d for d in seed_dossiers()}
        self.faults = Faults()
        self.rng = random.Random(0)
        self.served = 0

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.rng = random.Random(faults.seed)


def create_app(api_key: str) -> FastAPI:
    """The simulator app; ``api_key`` is what clients must send as ``X-API-Key``."""
    state = SimState()
    app = FastAPI(
        title="Cổng Dịch vụ công (mô phỏng)",
        version="1.0.0",
        description="Simulated dossier status API with fault injection for tests.",
    )
    app.state.sim = state

    def authorised(x_api_key: Annotated[str | None, Header()] = None) -> None:
        if not x_api_key or not secrets.compare_digest(x_api_key.encode(), api_key.encode()):
            raise HTTPException(401, "missing or wrong X-API-Key")

    def from_loopback(request: Request) -> None:
        host = request.client.host if request.client else ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise HTTPException(404, "Not Found")

    Auth = Depends(authorised)
    Admin = [Depends(from_loopback), Auth]

    @app.get("/api/v1/dossiers/{code}", response_model=Dossier, dependencies=[Auth])
    async def get_dossier(code: str) -> Any:
        state.served += 1
        faults = state.faults
        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        if faults.fail_next > 0:
            faults.fail_next -= 1
            return JSONResponse({"error": "injected"}, status_code=faults.error_status)
        if faults.error_rate and state.rng.random() < faults.error_rate:
            return JSONResponse({"error": "injected"}, status_code=faults.error_status)
        if faults.malformed_rate and state.rng.random() < faults.malformed_rate:
            return Response('{"code": "000.00', media_type="application/json")
        if faults.invalid_rate and state.rng.random() < faults.invalid_rate:
            return JSONResponse({"code": code, "status": "đang xử lý"})
        dossier = state.dossiers.get(code)
        if dossier is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(dossier.model_dump(mode="json"))

    @app.post("/_admin/faults", dependencies=Admin)
    async def set_faults(faults: Faults) -> dict[str, Any]:
        state.set_faults(faults)
        return faults.model_dump()

    @app.delete("/_admin/faults", dependencies=Admin)
    async def clear_faults() -> dict[str, Any]:
        state.set_faults(Faults())
        return state.faults.model_dump()

    @app.get("/_admin/stats", dependencies=Admin)
    async def stats() -> dict[str, int]:
        return {"served": state.served}

    @app.get("/_admin/dossiers", dependencies=Admin)
    async def all_dossiers() -> list[dict[str, Any]]:
        return listing(list(state.dossiers.values()))

    @app.post("/_admin/dossiers/{code}/status", response_model=Dossier, dependencies=Admin)
    async def change_status(code: str, update: StatusUpdate) -> Any:
        dossier = state.dossiers.get(code)
        if dossier is None:
            raise HTTPException(404, "unknown dossier")
        last = dossier.history[-1].at
        at = max(dt.datetime.now(dt.UTC), last + dt.timedelta(seconds=1))
        changed = dossier.model_copy(
            update={
                "status": update.status,
                "history": [*dossier.history, StatusChange(status=update.status, at=at, note=update.note)],
            }
        )
        state.dossiers[code] = changed
        return JSONResponse(changed.model_dump(mode="json"))

    return app
