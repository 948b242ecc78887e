"""FastAPI dependencies of the console (the contract other console modules build on).

- ``CurrentOperator``: the signed-in ``Operator`` (``.username``, ``.role``). Without a
  live session: 401 JSON under ``/api/admin``, a 303 redirect to ``/admin/login`` for pages.
- ``EditorDep``: editor or admin. ``AdminDep``: admin only, else 403.
- CSRF: ``console_router()`` returns an ``APIRouter`` whose every route runs
  ``csrf_protect``: POST/PUT/PATCH/DELETE need the session's token in the ``X-CSRF-Token``
  header (or, for page forms, a ``csrf`` form field), else 403. Build every console router
  with it; tests/console/test_access.py checks that no unsafe console route lacks it.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from bot.console import sessions
from bot.console.accounts import Operator
from bot.console.runtime import ConsoleRuntime
from bot.console.sessions import ConsoleSession
from bot.console.texts import text
from bot.deps import StateDep

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PAGE = "/admin/login"


def console_runtime(request: Request) -> ConsoleRuntime:
    runtime: ConsoleRuntime = request.app.state.console
    return runtime


RuntimeDep = Annotated[ConsoleRuntime, Depends(console_runtime)]


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def login_required(request: Request) -> HTTPException:
    if is_api(request):
        return HTTPException(status_code=401, detail=text("login_required"))
    return HTTPException(status_code=303, detail=text("login_required"), headers={"Location": LOGIN_PAGE})


async def optional_session(request: Request, state: StateDep) -> ConsoleSession | None:
    """The live session of this request, looked up once per request."""
    if hasattr(request.state, "console_session"):
        cached: ConsoleSession | None = request.state.console_session
        return cached
    runtime = console_runtime(request)
    session = await asyncio.to_thread(
        sessions.lookup, state.engine, request.cookies.get(sessions.COOKIE), runtime.idle
    )
    request.state.console_session = session
    return session


async def current_session(request: Request, state: StateDep) -> ConsoleSession:
    session = await optional_session(request, state)
    if session is None:
        raise login_required(request)
    return session


CurrentSession = Annotated[ConsoleSession, Depends(current_session)]


def current_operator(session: CurrentSession) -> Operator:
    return session.operator


CurrentOperator = Annotated[Operator, Depends(current_operator)]


def editor(operator: CurrentOperator) -> Operator:
    if operator.role not in ("editor", "admin"):
        raise HTTPException(status_code=403, detail=text("forbidden_role"))
    return operator


def admin(operator: CurrentOperator) -> Operator:
    if operator.role != "admin":
        raise HTTPException(status_code=403, detail=text("forbidden_role"))
    return operator


EditorDep = Annotated[Operator, Depends(editor)]
AdminDep = Annotated[Operator, Depends(admin)]


async def csrf_protect(request: Request, state: StateDep) -> None:
    """Unsafe methods need a live session (else 401/redirect) and its CSRF token (else 403)."""
    if request.method in SAFE_METHODS:
        return
    session = await current_session(request, state)
    supplied: Any = request.headers.get(CSRF_HEADER)
    if supplied is None and not is_api(request):
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            supplied = (await request.form()).get("csrf")
    if not isinstance(supplied, str) or not hmac.compare_digest(supplied.encode(), session.csrf.encode()):
        raise HTTPException(status_code=403, detail=text("csrf_failed"))


def console_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose every route is CSRF-protected (see module docstring)."""
    dependencies = [Depends(csrf_protect), *kwargs.pop("dependencies", [])]
    return APIRouter(dependencies=dependencies, **kwargs)
