"""Transport baseline: a raw ASGI WebSocket echo served by uvicorn exactly as kserver is served.

``python bench/echo_app.py <port>``. Every text frame comes back unchanged, so a Kuzzle frame is its
own reply (the load generator matches it by ``requestId``). Any HTTP request gets an empty 200.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"]})
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


TRANSPORT: dict[str, Any] = {
    "http": "httptools",
    "ws": "websockets-sansio",
    "loop": "uvloop",
    "lifespan": "off",
    "ws_max_size": 1024 * 1024,
    "ws_ping_interval": None,
    "ws_per_message_deflate": False,
    "log_level": "warning",
    "access_log": False,
    "server_header": False,
}
"""kserver's transport settings (kserver/cli.py uvicorn_config()), minus the app's own."""


def serve(app: Any, port: int, **protocols: Any) -> None:
    """uvicorn with ``TRANSPORT`` on 127.0.0.1:``port``; ``protocols`` overrides (the floor passes
    kserver's protocol classes)."""
    uvicorn.run(app, host="127.0.0.1", port=port, **{**TRANSPORT, **protocols})


def main(argv: list[str]) -> None:
    if len(argv) != 2 or not argv[1].isdigit():
        sys.exit("usage: echo_app.py <port>")
    serve(app, int(argv[1]))


if __name__ == "__main__":
    main(sys.argv)
