"""Operator console: login, dashboard and JSON API. Everything here needs a session."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot import inbox, operators
from bot.deps import StateDep
from knowledge import catalogue_store

router = APIRouter(tags=["admin"])
templates = Jinja2Templates(directory=str(__import__("pathlib").Path(__file__).parent.parent / "templates"))


def _sessions(request: Request) -> operators.ConsoleSessions:
    sessions: operators.ConsoleSessions = request.app.state.console_sessions
    return sessions


def current_operator(request: Request) -> str | None:
    return _sessions(request).operator(request.cookies.get(operators.ConsoleSessions.COOKIE))


def require_operator_api(request: Request) -> str:
    operator = current_operator(request)
    if operator is None:
        raise HTTPException(status_code=401, detail="Cần đăng nhập")
    return operator


CurrentOperator = Annotated[str, Depends(require_operator_api)]


@router.get("/admin/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return templates.TemplateResponse(request, "admin_login.html", {"error": None})


@router.post("/admin/login")
async def login(
    request: Request,
    state: StateDep,
    username: Annotated[str, Form(max_length=120)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    if not await asyncio.to_thread(operators.verify, state.engine, username, password):
        return templates.TemplateResponse(
            request, "admin_login.html", {"error": "Sai tên đăng nhập hoặc mật khẩu."}, status_code=401
        )
    response = RedirectResponse("/admin", status_code=303)
    response.set_cookie(
        operators.ConsoleSessions.COOKIE,
        _sessions(request).issue(username),
        httponly=True,
        samesite="strict",
        max_age=operators.SESSION_MAX_AGE_S,
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/admin/logout")
async def logout() -> Response:
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(operators.ConsoleSessions.COOKIE)
    return response


@router.get("/admin", response_class=HTMLResponse)
async def dashboard(request: Request, state: StateDep) -> Response:
    operator = current_operator(request)
    if operator is None:
        return RedirectResponse("/admin/login", status_code=303)
    procedures, unanswered, handoffs = await asyncio.gather(
        asyncio.to_thread(catalogue_store.load_all, state.engine),
        asyncio.to_thread(inbox.list_unanswered, state.engine),
        asyncio.to_thread(inbox.list_handoffs, state.engine),
    )
    return templates.TemplateResponse(
        request,
        "admin.html",
        {"operator": operator, "procedures": procedures, "unanswered": unanswered, "handoffs": handoffs},
    )


@router.get("/api/admin/procedures")
async def list_procedures(state: StateDep, _operator: CurrentOperator) -> list[dict[str, Any]]:
    procedures = await asyncio.to_thread(catalogue_store.load_all, state.engine)
    return [p.model_dump(mode="json") for p in procedures]


@router.get("/api/admin/unanswered")
async def list_unanswered(state: StateDep, _operator: CurrentOperator) -> list[dict[str, Any]]:
    return await asyncio.to_thread(inbox.list_unanswered, state.engine)


@router.get("/api/admin/handoffs")
async def list_handoffs(state: StateDep, _operator: CurrentOperator) -> list[dict[str, Any]]:
    return await asyncio.to_thread(inbox.list_handoffs, state.engine)


@router.get("/api/admin/feedback")
async def list_feedback(state: StateDep, _operator: CurrentOperator) -> list[dict[str, Any]]:
    return await asyncio.to_thread(inbox.list_feedback, state.engine)
