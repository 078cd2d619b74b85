"""The direct WebSocket path: kserver's uvicorn protocol hands text frames to the session on its own
stack and takes replies back the same way, without the ASGI message round trip of each frame.

Plain ASGI costs, per frame: a dict and an ``asyncio.Queue`` put in the protocol, a future and a
task wake-up to get it out in the app, then a dict, two coroutines and an ``Event.wait`` to send
the reply. For a ``server:now`` that is as much CPU as the request itself. The handshake, the close,
binary frames and every frame arriving while the session is held (too many requests in flight, or
older frames still queued) keep going through ``receive()``/``send()``, so ordering and back
pressure are unchanged and the app still runs under any ASGI server (then without this path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

DIRECT_EXTENSION = "kserver.websocket.direct"
"""Scope extension ``{"socket": DirectSocket}``, offered by kserver's own uvicorn protocol."""


class DirectSocket(Protocol):
    held: bool
    """Set by ``hold``, cleared by ``release``."""

    def attach(self, on_text: Callable[[str], None]) -> None:
        """From now on, call ``on_text`` with each text frame, unless the session is held or older
        frames are still queued for ``receive()``."""

    def hold(self) -> None:
        """Stop calling ``on_text``: frames queue for ``receive()`` (and uvicorn stops reading the
        socket once one is queued), until ``release``."""

    def release(self) -> None:
        """Call ``on_text`` again (for frames that arrive once the queue is empty)."""

    def write_text(self, text: bytes) -> bool:
        """Write a text frame (``text``: its UTF-8 bytes) now and return True; False when it cannot be
        written at once (the socket is paused for back pressure, closing or gone): then send it through
        ASGI ``send``."""
