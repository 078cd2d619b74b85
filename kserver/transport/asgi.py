"""The raw ASGI application: lifespan, HTTP and WebSocket on one port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from kserver.router import Router
from kserver.transport.asgi_types import Receive, Scope, Send
from kserver.transport.http import HttpEndpoint
from kserver.transport.limits import ConnectionCounter, Limits, OriginPolicy
from kserver.transport.websocket import WebSocketSession, serve_websocket
from kserver.wire.context import Connection
from kserver.wire.http_routes import RouteTable

log = logging.getLogger("kserver")

Hook = Callable[[], Awaitable[None]]


class KServerASGI:
    """ASGI entry point. ``on_startup``/``on_shutdown`` hooks open and close the services."""

    def __init__(
        self,
        router: Router,
        routes: RouteTable,
        *,
        max_request_size: int,
        max_in_flight: int,
        idle_timeout: float,
        on_startup: Hook | None = None,
        on_shutdown: Hook | None = None,
        on_disconnect: list[Callable[[Connection], None]] | None = None,
        limits: Limits | None = None,
        cors_origins: str = "",
    ) -> None:
        self.router = router
        self.connections = ConnectionCounter(limits or Limits())
        self.origins = OriginPolicy(cors_origins)
        self.http = HttpEndpoint(router, routes, max_size=max_request_size, origins=self.origins)
        self.sessions: set[WebSocketSession] = set()
        self.max_request_size = max_request_size
        self.max_in_flight = max_in_flight
        self.idle_timeout = idle_timeout
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown
        self._sweeper: asyncio.Task[None] | None = None
        self.on_disconnect = on_disconnect if on_disconnect is not None else []
        """Called (synchronously) when a WebSocket connection ends: drop its subscriptions, tokens..."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "websocket":
            await serve_websocket(
                scope,
                receive,
                send,
                self.router,
                self.sessions,
                max_in_flight=self.max_in_flight,
                max_size=self.max_request_size,
                on_disconnect=self.on_disconnect,
                counter=self.connections,
                origins=self.origins,
            )
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self._on_startup is not None:
                        await self._on_startup()
                except Exception as exc:
                    # a refused configuration or an unreachable store: the message says it all
                    log.error("startup failed: %s", exc)
                    log.debug("startup failure", exc_info=True)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                self._sweeper = asyncio.create_task(self._sweep_idle())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._sweeper is not None:
                    self._sweeper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._sweeper
                await asyncio.gather(*(s.close(1001) for s in list(self.sessions)), return_exceptions=True)
                await asyncio.gather(*(s.drain() for s in list(self.sessions)), return_exceptions=True)
                if self._on_shutdown is not None:
                    await self._on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def close_gracefully(self, grace: float) -> None:
        """Refuse new requests (api.process.shutting_down), let running ones answer, then close (1001)."""
        sessions = list(self.sessions)
        for session in sessions:
            session.shutting_down = True
        drains = asyncio.gather(*(s.drain() for s in sessions), return_exceptions=True)
        try:
            await asyncio.wait_for(drains, grace)
        except TimeoutError:
            log.warning("grace period over: closing websockets with requests still running")
        await asyncio.gather(*(s.close(1001) for s in sessions), return_exceptions=True)

    async def _sweep_idle(self) -> None:
        """Disconnect WebSocket clients silent for longer than ``idle_timeout`` (checked each second)."""
        while True:
            await asyncio.sleep(min(1.0, self.idle_timeout))
            deadline = time.monotonic() - self.idle_timeout
            idle = [s for s in self.sessions if s.last_seen < deadline]
            for session in idle:
                log.info("closing idle websocket %s", session.connection.id)
            # concurrently: closing a client that does not read waits for it (bounded) or drops it
            await asyncio.gather(*(s.close(1001) for s in idle), return_exceptions=True)
