"""Rendering console pages: one Jinja2 environment over ``bot/console/templates`` and a
``page`` helper that gives every template the operator, the CSRF token and the nav."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.console.sessions import ConsoleSession
from bot.console.texts import HERE

templates = Jinja2Templates(directory=str(HERE / "templates"))


def page(
    request: Request,
    name: str,
    session: ConsoleSession | None,
    context: dict[str, Any] | None = None,
    *,
    active: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    values: dict[str, Any] = {
        "operator": session.operator if session else None,
        "csrf": session.csrf if session else "",
        "active": active,
        **(context or {}),
    }
    response: HTMLResponse = templates.TemplateResponse(request, name, values, status_code=status_code)
    return response


def render_text(name: str, **values: Any) -> str:
    """A plain-text template (citizen messages), trimmed."""
    return str(templates.env.get_template(name).render(**values)).strip()
