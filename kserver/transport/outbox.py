"""A bounded outgoing queue for one WebSocket: replies and notifications wait here while the
client does not read, within a byte and a frame budget; past it the connection is dropped.

A frame is written at once, on the caller's stack, when the socket is writable (the common
case: no task, no queue; with a direct socket not even the ASGI ``send`` coroutine). When it is
not, a single writer for the connection drains the queue (started when a frame arrives, gone when
the queue is empty), so pushing never creates a task per frame and never waits. Nothing is
allocated for an idle connection beyond this object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from kserver.transport import eager
from kserver.transport.asgi_types import Send
from kserver.transport.limits import ABORT_EXTENSION

log = logging.getLogger("kserver.websocket")


class Outbox:
    """Frames for one client. ``put`` never blocks; ``close`` flushes then sends a close frame."""

    __slots__ = (
        "_closer",
        "_flushed",
        "_queue",
        "_send",
        "_write_now",
        "_writer",
        "_writing",
        "can_abort",
        "max_bytes",
        "max_messages",
        "open",
        "overflowed",
        "pending_bytes",
    )

    def __init__(
        self,
        send: Send,
        *,
        max_bytes: int,
        max_messages: int,
        can_abort: bool,
        write_now: Callable[[bytes], bool] | None = None,
    ) -> None:
        self._send = send
        self._write_now = write_now  # DirectSocket.write_text: True when written at once
        self.max_bytes = max_bytes
        self.max_messages = max_messages
        self.can_abort = can_abort
        self._queue: deque[bytes] | None = None  # frames behind the one being written; made on demand
        self.pending_bytes = 0
        self.open = True
        self.overflowed = False
        self._writing = False
        self._writer: eager.Driven | None = None  # what writes while the socket is paused
        self._closer: asyncio.Future[None] | None = None
        self._flushed: asyncio.Future[None] | None = None  # made by whoever waits for the flush

    def __len__(self) -> int:
        """Frames not yet written: the one being written and those queued behind it."""
        return (len(self._queue) if self._queue else 0) + (1 if self._writing else 0)

    def put(self, text: bytes) -> None:
        """Queue a text frame, given UTF-8 encoded (as orjson writes it: the direct path sends it as
        is); on overflow drop everything and the connection (the frame is lost)."""
        if not self.open:
            return
        size = len(text)
        if not self._writing:  # nothing pending: write it now (the first frame fits, however big)
            write_now = self._write_now
            if write_now is not None and write_now(text):
                return
            self._writing = True
            self.pending_bytes = size
            self._writer = eager.start(self._write(text))
            return
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
        if self.pending_bytes + size > self.max_bytes or len(queue) + 1 >= self.max_messages:
            self._overflow()
            return
        queue.append(text)
        self.pending_bytes += size

    async def _write(self, first: bytes) -> None:
        try:
            await self._send({"type": "websocket.send", "text": first.decode()})
            self.pending_bytes -= len(first)
            while self._queue:
                queue = self._queue
                await self._send({"type": "websocket.send", "text": queue[0].decode()})
                if queue:  # emptied meanwhile by an overflow
                    self.pending_bytes -= len(queue.popleft())
        except Exception:  # the client went away: nothing left to tell it
            self.open = False
        finally:
            self._queue = None
            self.pending_bytes = 0
            self._writing = False
            self._writer = None
            self._set_flushed()

    def _set_flushed(self) -> None:
        flushed = self._flushed
        if flushed is not None and not flushed.done():
            flushed.set_result(None)

    def _overflow(self) -> None:
        log.warning(
            "websocket client not reading: %d frames, %d bytes queued; disconnecting",
            len(self),
            self.pending_bytes,
        )
        self.open = False
        self.overflowed = True
        if self._queue is not None:
            self._queue.clear()
        self.pending_bytes = 0
        self._set_flushed()
        if self.can_abort:
            # A close frame cannot get through a full socket buffer: drop the connection.
            self._closer = asyncio.ensure_future(self._send({"type": ABORT_EXTENSION}))
        else:
            self._closer = asyncio.ensure_future(self._quiet_close(1011))

    async def close(self, code: int, timeout: float) -> None:
        """Stop queueing, flush what is queued (up to ``timeout`` s), then send a close frame;
        a client that does not read within ``timeout`` is dropped instead."""
        if not self.open:
            return
        self.open = False
        try:
            await asyncio.wait_for(self.flushed(), timeout)
            await asyncio.wait_for(self._quiet_close(code), timeout)
        except TimeoutError:
            if self.can_abort:
                await self._send({"type": ABORT_EXTENSION})

    async def _quiet_close(self, code: int) -> None:
        with contextlib.suppress(Exception):  # already closed by the client
            await self._send({"type": "websocket.close", "code": code})

    async def flushed(self) -> None:
        """Return once nothing is queued or being written."""
        if not self._writing:
            return
        if self._flushed is None or self._flushed.done():
            self._flushed = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._flushed)
