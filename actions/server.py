"""Runs the rasa-sdk action server on 127.0.0.1 with the catalogue index warmed up.

``python -m actions.server`` (what `congdan run` starts). A single Sanic process:
the index, the encoder and underthesea are loaded once, before the port opens, so
the first citizen does not wait for them.
"""

from __future__ import annotations

import logging

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor

from actions import runtime
from bot.logs import setup_logging
from bot.metrics import instrument_action_server
from knowledge.search import IndexNotReady

log = logging.getLogger(__name__)


def warm_up() -> None:
    try:
        runtime.searcher().search("đăng ký khai sinh", top=1)
    except IndexNotReady:
        log.warning("no published index yet: procedure questions will fail until `congdan index`")


def main() -> None:
    settings = runtime.settings()
    setup_logging(settings.log_level, settings.log_json)
    executor = ActionExecutor()
    executor.register_package("actions")
    warm_up()
    app = create_app(executor, cors_origins=[])
    instrument_action_server(app, settings)  # request id from the tracker, /metrics
    app.config.KEEP_ALIVE_TIMEOUT = 75
    app.run(
        host=settings.actions_host,
        port=settings.actions_port,
        single_process=True,
        access_log=False,
        motd=False,
    )


if __name__ == "__main__":
    main()
