"""CORS for the embedding routes only: portals listed in ``CONGDAN_ALLOWED_ORIGINS`` may load
the widget and call the chat API from their pages; every other route stays same-origin."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# The widget polls /api/notifications (officers' replies, dossier news) with its session token
# in the X-Session-Token header.
EMBEDDING_PATHS = frozenset({"/api/chat", "/api/notifications", "/widget.js"})


class EmbeddingCORS:
    """Starlette's CORSMiddleware, applied to ``EMBEDDING_PATHS`` and nothing else."""

    def __init__(self, app: ASGIApp, allow_origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=allow_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Session-Token"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in EMBEDDING_PATHS:
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
