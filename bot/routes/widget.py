"""The embeddable widget and the demo portal page.

CORS for ``/widget.js`` (and ``/api/chat``) comes from ``bot.cors.EmbeddingCORS``, limited to
``CONGDAN_ALLOWED_ORIGINS``; a plain ``<script src>`` tag needs no CORS at all.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(tags=["widget"])
_HERE = Path(__file__).resolve().parent.parent


@router.get("/widget.js", include_in_schema=False)
async def widget_js() -> FileResponse:
    return FileResponse(
        _HERE / "static" / "widget.js",
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def demo_page() -> HTMLResponse:
    return HTMLResponse((_HERE / "templates" / "demo.html").read_text(encoding="utf-8"))
