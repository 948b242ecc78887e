"""GET /privacy: the privacy notice in Vietnamese (what is collected, why, for how long,
the citizen's rights under Law 91/2025/QH15, whom to contact). The organisation and the
contact come from ``CONGDAN_PRIVACY_ORG_NAME`` / ``CONGDAN_PRIVACY_CONTACT``, the period
from ``CONGDAN_RETENTION_DAYS``. Linked from the widget."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape

from bot.deps import StateDep

router = APIRouter(tags=["privacy"])
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def _template() -> Template:
    environment = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))
    return environment.get_template("privacy.html")


@router.get("/privacy", response_class=HTMLResponse, include_in_schema=False)
async def privacy_notice(state: StateDep) -> HTMLResponse:
    config = state.settings
    page = _template().render(
        org_name=config.privacy_org_name, contact=config.privacy_contact, retention_days=config.retention_days
    )
    return HTMLResponse(page, headers={"Cache-Control": "public, max-age=300"})
