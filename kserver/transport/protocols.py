"""kserver's uvicorn protocols: httptools with a request-head timeout; websockets-sansio with the
abort extension and the direct path (``kserver.transport.direct``).

Pass them as ``uvicorn.Config(http=..., ws=...)``; the bench's echo baseline runs uvicorn's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

from kserver.transport.direct import DIRECT_EXTENSION
from kserver.transport.limits import ABORT_EXTENSION


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, plus ``kserver.websocket.abort`` and the direct path."""

    # Class defaults: no per-connection cost until a session attaches.
    _on_text: Callable[[str], None] | None = None
    held = False

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if getattr(self, "scope", None) is not None:
            extensions = self.scope["extensions"]
            extensions[ABORT_EXTENSION] = {}
            extensions[DIRECT_EXTENSION] = {"socket": self}

    async def send(self, message: Any) -> None:
        if message["type"] == ABORT_EXTENSION:
            if not self.disconnected:
                self.transport.abort()
            return
        await super().send(message)

    # DirectSocket

    def attach(self, on_text: Callable[[str], None]) -> None:
        self._on_text = on_text

    def hold(self) -> None:
        self.held = True

    def release(self) -> None:
        self.held = False

    def write_text(self, text: bytes) -> bool:
        if self.disconnected or self.close_sent or not self.writable.is_set():
            return False
        try:
            self.conn.send_text(text)
        except InvalidState:  # closing: let ASGI send report it
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def send_receive_event_to_app(self) -> None:
        on_text = self._on_text
        if (
            on_text is None
            or self.held
            or self.curr_msg_data_type != "text"
            or self.close_sent
            or not self.queue.empty()  # older frames first, through receive()
        ):
            super().send_receive_event_to_app()
            return
        frames = self.frames
        try:
            text = (frames[0] if len(frames) == 1 else b"".join(frames)).decode()
        except UnicodeDecodeError:
            super().send_receive_event_to_app()  # uvicorn closes with 1007
            return
        self.frames = []
        try:
            on_text(text)
        except Exception:  # a bug in the session: keep the connection, log it
            self.logger.exception("WebSocket frame handler failed")


def guarded_protocols(head_timeout: float) -> tuple[type[HttpToolsProtocol], type[WebSocketsSansIOProtocol]]:
    """The protocol classes for ``uvicorn.Config(http=..., ws=...)``."""

    class HttpProtocol(HttpToolsProtocol):
        """Closes a connection whose request head (headers, or the WebSocket upgrade) is not
        complete ``head_timeout`` seconds after the connection or the request started."""

        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_timer()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_head_timer()

        def on_headers_complete(self) -> None:
            self._disarm_head_timer()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_timer()
            super().connection_lost(exc)

        def handle_websocket_upgrade(self) -> None:
            super().handle_websocket_upgrade()
            # The parser holds this protocol's bound callbacks, the protocol holds the parser: a
            # cycle that uvicorn breaks in connection_lost, which an upgraded connection's HTTP
            # protocol never gets. Broken here, it goes at once instead of at the next collection
            # (about 20 objects per WebSocket, bench/connections.py's idle connections).
            self.parser = None  # type: ignore[assignment]

        def _arm_head_timer(self) -> None:
            if self._head_timer is None and head_timeout > 0:
                self._head_timer = self.loop.call_later(head_timeout, self._head_expired)

        def _disarm_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_expired(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.abort()

    return HttpProtocol, WebSocketProtocol
