"""WebSocket transport: text (or binary UTF-8) JSON frames in, envelopes out.

Requests of one connection run concurrently and are answered as they finish.
At most ``max_in_flight`` run at once: past that the loop stops calling
``receive()``, uvicorn pauses reading the socket, and TCP pushes back on the
client; no queue grows without bound. Replies and notifications go through the
connection's bounded ``Outbox``: a client that stops reading is dropped once its
queue passes ``ws_send_queue_bytes``/``ws_send_queue_messages``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from kserver.router import Router
from kserver.transport import eager
from kserver.transport.asgi_types import Receive, Scope, Send
from kserver.transport.direct import DIRECT_EXTENSION, DirectSocket
from kserver.transport.limits import (
    ABORT_EXTENSION,
    ConnectionCounter,
    Limits,
    OriginPolicy,
    encode_envelope,
)
from kserver.transport.outbox import Outbox
from kserver.wire.catalog import KuzzleError, kerror
from kserver.wire.context import Connection
from kserver.wire.envelope import dumps, frame_error_envelope
from kserver.wire.request import FrameError, Request, parse_frame

log = logging.getLogger("kserver.websocket")

PONG = b'{"p":2}'
_PING_TEXTS = frozenset({'{"p":1}', '{"p": 1}'})
_PING_MAX = max(map(len, _PING_TEXTS))  # longer texts are not hashed for the set lookup
CLOSE_TIMEOUT = 5.0
"""Seconds a closing connection has to read what is queued for it before it is dropped."""


class WebSocketSession:
    """One accepted WebSocket connection and its in-flight requests."""

    # slots: thousands of idle connections each carry one of these
    __slots__ = (
        "_in_flight",
        "_in_hand",
        "_slot_free",
        "_socket",
        "_tasks",
        "closed",
        "connection",
        "last_seen",
        "max_in_flight",
        "max_size",
        "outbox",
        "router",
        "shutting_down",
    )

    def __init__(
        self,
        router: Router,
        send: Send,
        address: str | None,
        *,
        max_in_flight: int,
        max_size: int,
        limits: Limits | None = None,
        can_abort: bool = False,
        socket: DirectSocket | None = None,
    ) -> None:
        self.router = router
        limits = limits or Limits()
        self.outbox = Outbox(
            send,
            max_bytes=limits.send_queue_bytes,
            max_messages=limits.send_queue_messages,
            can_abort=can_abort,
            write_now=socket.write_text if socket is not None else None,
        )
        self._socket = socket
        self.max_in_flight = max_in_flight
        self.max_size = max_size
        self.connection = Connection("websocket", address, push=self.push)
        self.last_seen = time.monotonic()
        self.closed = False
        self.shutting_down = False
        self._in_flight = 0
        self._in_hand = False  # run() holds a frame from receive(): direct frames must wait behind it
        # Created only when needed: an idle connection should cost as little memory as possible.
        self._slot_free: asyncio.Future[None] | None = None
        self._tasks: set[eager.Driven] | None = None

    async def run(self, receive: Receive) -> None:
        """Serve frames until the client goes. With a direct socket most frames arrive through
        ``_on_text`` directly; ``receive()`` then brings only the others (see kserver.transport.direct)."""
        if self._socket is not None:
            self._socket.attach(self._on_text)
        while True:
            message = await receive()
            kind = message["type"]
            if kind != "websocket.receive":
                break
            text: str | None = message.get("text")
            if text is None:
                try:
                    text = bytes(message.get("bytes") or b"").decode()
                except UnicodeDecodeError:
                    self.last_seen = time.monotonic()
                    self._reply_frame_error(
                        kerror("network.websocket.unexpected_error", "invalid UTF-8"), None
                    )
                    continue
            self._in_hand = True
            self._sync_hold()
            while self._in_flight >= self.max_in_flight:  # frames held back come this way
                await self._free_slot()
            self._on_text(text)
            while self._in_flight >= self.max_in_flight:  # stop reading until one finishes
                await self._free_slot()
            self._in_hand = False
            self._sync_hold()
        self.closed = True

    def _sync_hold(self) -> None:
        """The direct socket hands frames over only while this session can start them at once:
        no frame from receive() in hand (it goes first) and a request slot free."""
        socket = self._socket
        if socket is not None:
            hold = self._in_hand or self._in_flight >= self.max_in_flight
            if hold != socket.held:  # most calls change nothing: no call to the socket then
                if hold:
                    socket.hold()
                else:
                    socket.release()

    async def _free_slot(self) -> None:
        self._slot_free = asyncio.get_running_loop().create_future()
        await self._slot_free
        self._slot_free = None

    def _on_text(self, text: str) -> None:
        self.last_seen = time.monotonic()
        if len(text) <= _PING_MAX and text in _PING_TEXTS:
            self._queue_text(PONG)
            return
        if len(text) > self.max_size and len(text.encode()) > self.max_size:
            self._reply_frame_error(kerror("network.websocket.request_too_large", self.max_size), None)
            return
        try:
            request = parse_frame(text)
        except FrameError as exc:
            frame = exc.frame
            if isinstance(frame, dict) and len(frame) == 1 and frame.get("p") == 1:
                self._queue_text(PONG)
                return
            self._reply_frame_error(exc.error, exc.request_id, frame)
            return
        if self.shutting_down:
            self._reply_frame_error(kerror("api.process.shutting_down"), request.request_id)
            return
        self._in_flight += 1
        if self._in_flight >= self.max_in_flight:
            self._sync_hold()
        # Run the request eagerly: most finish without ever waiting (server:now, cached rights),
        # and a task per request would cost more than the request itself. One that does wait
        # is resumed by what it waits on (see eager), and kept here until it ends, for drain().
        waiting = eager.start(self._handle(request))
        if waiting is not None:
            if self._tasks is None:
                self._tasks = set()
            self._tasks.add(waiting)
            waiting.on_done = self._tasks.discard

    async def _handle(self, request: Request) -> None:
        try:
            outcome = await self.router.dispatch(request, self.connection)
            body = outcome.body
            body["room"] = request.request_id
            self.outbox.put(encode_envelope(body))
        finally:
            self._in_flight -= 1
            if self._in_flight < self.max_in_flight:
                slot_free = self._slot_free
                if slot_free is not None and not slot_free.done():
                    slot_free.set_result(None)
                self._sync_hold()

    def _reply_frame_error(self, error: Any, request_id: str | None, frame: Any = None) -> None:
        payload = frame_error_envelope(error, self.router.node, request_id, frame)
        self._queue_text(encode_envelope(payload))

    def _queue_text(self, text: bytes) -> None:
        self.outbox.put(text)

    def push(self, payload: bytes) -> None:
        """Queue a pre-serialised frame (a notification) without waiting."""
        if not self.closed:
            self.outbox.put(payload)

    async def close(self, code: int) -> None:
        """Flush the queued frames, then close with ``code`` (a client not reading is dropped)."""
        if self.closed:
            return
        self.closed = True
        await self.outbox.close(code, CLOSE_TIMEOUT)

    async def drain(self) -> None:
        """Wait for the requests still running, then for their replies to be written."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def serve_websocket(
    scope: Scope,
    receive: Receive,
    send: Send,
    router: Router,
    sessions: set[WebSocketSession],
    *,
    max_in_flight: int,
    max_size: int,
    on_disconnect: Sequence[Callable[[Connection], None]] = (),
    counter: ConnectionCounter | None = None,
    origins: OriginPolicy | None = None,
) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    client = scope.get("client")
    address = client[0] if client else None
    counter = counter or ConnectionCounter(Limits())
    try:
        if origins is not None:
            origins.check(_header(scope, b"origin"))
    except KuzzleError as error:
        await _refuse(scope, send, error, router.node)
        return
    refused = counter.admit(address)
    if refused is not None:
        log.warning("websocket from %s refused: %s", address, refused.definition.id)
        await _refuse(scope, send, refused, router.node)
        return
    try:
        await send({"type": "websocket.accept"})
        extensions = scope.get("extensions") or {}
        session = WebSocketSession(
            router,
            send,
            address,
            max_in_flight=max_in_flight,
            max_size=max_size,
            limits=counter.limits,
            can_abort=ABORT_EXTENSION in extensions,
            socket=(extensions.get(DIRECT_EXTENSION) or {}).get("socket"),
        )
        sessions.add(session)
        router.metrics.connections["websocket"] += 1
        try:
            await session.run(receive)
        finally:
            session.closed = True
            sessions.discard(session)
            router.metrics.connections["websocket"] -= 1
            for hook in on_disconnect:
                try:
                    hook(session.connection)
                except Exception:
                    log.exception("disconnect hook failed")
            await session.drain()
    finally:
        counter.release(address)


async def _refuse(scope: Scope, send: Send, error: KuzzleError, node: str) -> None:
    """Answer the upgrade with an HTTP error carrying a Kuzzle error envelope (without ``room``)."""
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1013, "reason": error.definition.id})
        return
    payload = frame_error_envelope(error, node, None)
    payload.pop("room", None)
    body = dumps(payload)
    await send(
        {
            "type": "websocket.http.response.start",
            "status": error.status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "websocket.http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
