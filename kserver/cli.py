"""``kserver`` / ``python -m kserver``: parse settings and serve with uvicorn."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import uvicorn

from kserver.app import build_app
from kserver.config import Settings, load_settings


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    """uvicorn with httptools, the websockets Sans-I/O protocol and uvloop (measured fastest here)."""
    return uvicorn.Config(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        http="httptools",
        ws="websockets-sansio",
        loop="uvloop",
        lifespan="on",
        ws_max_size=settings.ws_hard_max_size,
        ws_ping_interval=None,  # Kuzzle does not ping; SDK clients ping us
        ws_per_message_deflate=False,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def main(argv: Sequence[str] | None = None) -> None:
    settings = load_settings(argv)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    server = uvicorn.Server(uvicorn_config(settings))
    server.run()
