"""POST /api/admin/dossiers/{code}/unlock (admin): lift the per-dossier lookup lock that
repeated failed verifications from any conversation put on one dossier
(``bot.portal.lockout.unlock_dossier``; audited as ``dossier.unlock``).

The code may be typed as citizens type it (spaces, lower case); a malformed one is 422.
Answers ``{"code", "forgiven"}``: the failed tries of the last 24 h that no longer count.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.responses import JSONResponse

from bot.console.deps import AdminDep, console_router
from bot.deps import StateDep
from bot.portal.lockout import unlock_dossier

router = console_router(tags=["console"])


@router.post("/api/admin/dossiers/{code}/unlock")
async def unlock(code: str, operator: AdminDep, state: StateDep) -> Any:
    try:
        result = await asyncio.to_thread(
            unlock_dossier, state.engine, code[:80], operator.username, state.settings
        )
    except ValueError:
        return JSONResponse(
            {
                "error": "invalid_code",
                "message": "Mã hồ sơ không đúng dạng, ví dụ 000.00.04.H51-200221-0001.",
            },
            status_code=422,
        )
    return {"code": result.code, "forgiven": result.forgiven}
