"""GET /api/search: the catalogue search, same shape as `congdan search --json`."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from bot.deps import StateDep
from bot.ratelimit import limit_by_client
from knowledge.search import IndexNotReady, QueryError

router = APIRouter(tags=["search"])


@router.get("/api/search", dependencies=[Depends(limit_by_client)])
async def search(
    state: StateDep,
    q: str = Query(default="", max_length=20000),
    top: int = Query(default=5, ge=1, le=50),
) -> Any:
    try:
        result = await asyncio.to_thread(state.searcher.search, q, top)
    except QueryError as error:
        return JSONResponse({"error": "bad_query", "message": str(error)}, status_code=422)
    except IndexNotReady:
        return JSONResponse(
            {"error": "index_not_ready", "message": "Chỉ mục chưa sẵn sàng, vui lòng thử lại sau."},
            status_code=503,
        )
    return result.public()
