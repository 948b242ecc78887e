"""Shared per-app resources and their FastAPI dependency aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from bot.conversation import ConversationService
from bot.rasa_client import RasaClient
from bot.sessions import SessionTokens
from bot.settings import Settings
from knowledge.search import Searcher


@dataclass
class AppState:
    settings: Settings
    rasa: RasaClient
    searcher: Searcher
    engine: Engine
    tokens: SessionTokens
    conversation: ConversationService
    rasa_model_ok: bool = False


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.congdan
    return state


StateDep = Annotated[AppState, Depends(get_state)]
