"""A bounded outgoing queue for one WebSocket: replies and notifications wait here while the
client does not read, within a byte and a frame budget; past it the connection is dropped.

One writer task per connection drains the queue (started when a frame arrives, gone when the
queue is empty), so pushing never creates a task per frame and never waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from kserver.transport.asgi_types import Send
from kserver.transport.limits import ABORT_EXTENSION

log = logging.getLogger("kserver.websocket")


class Outbox:
    """Frames for one client. ``put`` never blocks; ``close`` flushes then sends a close frame."""

    def __init__(self, send: Send, *, max_bytes: int, max_messages: int, can_abort: bool) -> None:
        self._send = send
        self.max_bytes = max_bytes
        self.max_messages = max_messages
        self.can_abort = can_abort
        self._queue: deque[str] = deque()
        self.pending_bytes = 0
        self.open = True
        self.overflowed = False
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Future[None] | None = None
        self._empty = asyncio.Event()
        self._empty.set()

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, text: str) -> None:
        """Queue a frame; on overflow drop everything and the connection (the frame is lost)."""
        if not self.open:
            return
        size = len(text)
        # The first frame always fits, however big: the budget bounds what piles up behind it.
        if self._queue and (
            self.pending_bytes + size > self.max_bytes or len(self._queue) >= self.max_messages
        ):
            self._overflow()
            return
        self._queue.append(text)
        self.pending_bytes += size
        self._empty.clear()
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        queue = self._queue
        try:
            while queue:
                await self._send({"type": "websocket.send", "text": queue[0]})
                if queue:  # emptied meanwhile by an overflow
                    self.pending_bytes -= len(queue.popleft())
        except Exception:  # the client went away: nothing left to tell it
            self.open = False
            queue.clear()
            self.pending_bytes = 0
        finally:
            self._writer = None
            self._empty.set()

    def _overflow(self) -> None:
        log.warning(
            "websocket client not reading: %d frames, %d bytes queued; disconnecting",
            len(self._queue),
            self.pending_bytes,
        )
        self.open = False
        self.overflowed = True
        self._queue.clear()
        self.pending_bytes = 0
        self._empty.set()
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
            await asyncio.wait_for(self._empty.wait(), timeout)
            await asyncio.wait_for(self._quiet_close(code), timeout)
        except TimeoutError:
            if self.can_abort:
                await self._send({"type": ABORT_EXTENSION})

    async def _quiet_close(self, code: int) -> None:
        with contextlib.suppress(Exception):  # already closed by the client
            await self._send({"type": "websocket.close", "code": code})

    async def flushed(self) -> None:
        await self._empty.wait()
