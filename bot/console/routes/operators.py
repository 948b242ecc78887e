"""Operator accounts for admins: ``GET /api/admin/operators`` → ``[{"username", "role",
"created_at"}]``. Accounts are created, reset and removed with ``congdan operator``."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.console import accounts
from bot.console.deps import AdminDep, console_router
from bot.deps import StateDep

router = console_router(tags=["console"])


@router.get("/api/admin/operators")
async def list_operators(state: StateDep, _admin: AdminDep) -> list[dict[str, Any]]:
    return await asyncio.to_thread(accounts.list_operators, state.engine)
