"""Per-connection token links and the ``TokenExpired`` server notification (Kuzzle's tokenManager).

A WebSocket connection is linked to the last finite token it used (login or any
authenticated request). One timer fires at the earliest expiry; each connection
still linked to an expired token gets the TokenExpired frame, and ``on_expired``
hooks run (the realtime service drops the connection's subscriptions there).
A revoked token's connections are unlinked silently (``on_revoked`` hooks run).
Links die with the token, so the table holds at most one entry per live token.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from kserver.services.auth.tokens import TokenInfo, now_ms
from kserver.wire.context import Connection

log = logging.getLogger("kserver.auth")

NOTIFICATION_ROOM = "kuzzle:notification:server"
_LINK_KEY = "auth.token_id"


def token_expired_frame(node: str) -> bytes:
    return orjson.dumps(
        {
            "status": 200,
            "info": "This is an automated server notification",
            "message": "Authentication Token Expired",
            "type": "TokenExpired",
            "node": node,
            "room": NOTIFICATION_ROOM,
        }
    )


@dataclass(slots=True)
class _Link:
    expires_at: int
    connections: dict[str, Connection] = field(default_factory=dict)


class ExpiryWatch:
    def __init__(self, node: str) -> None:
        self.node = node
        self._links: dict[str, _Link] = {}
        self._heap: list[tuple[int, str]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: int | None = None
        self.on_expired: list[Callable[[Connection], None]] = []
        self.on_revoked: list[Callable[[Connection], None]] = []

    def link(self, info: TokenInfo, connection: Connection) -> None:
        """Link ``connection`` (WebSocket only) to a finite token, replacing its previous link."""
        if connection.push is None or info.infinite:
            return
        current = connection.state.get(_LINK_KEY)
        if current == info.id:
            return
        if current is not None:
            self._drop(current, connection)
        link = self._links.get(info.id)
        if link is None:
            link = self._links[info.id] = _Link(info.expires_at)
            heapq.heappush(self._heap, (info.expires_at, info.id))
            self._schedule()
        link.connections[connection.id] = connection
        connection.state[_LINK_KEY] = info.id

    def unlink(self, connection: Connection) -> None:
        current = connection.state.get(_LINK_KEY)
        if current is not None:
            self._drop(current, connection)

    def linked(self, connection: Connection) -> str | None:
        token_id = connection.state.get(_LINK_KEY)
        return token_id if isinstance(token_id, str) else None

    def revoked(self, token_id: str) -> None:
        """The token was revoked: unlink its connections without notifying them."""
        link = self._links.pop(token_id, None)
        if link is None:
            return
        for connection in link.connections.values():
            connection.state.pop(_LINK_KEY, None)
            for hook in self.on_revoked:
                hook(connection)

    def _drop(self, token_id: str, connection: Connection) -> None:
        connection.state.pop(_LINK_KEY, None)
        link = self._links.get(token_id)
        if link is not None:
            link.connections.pop(connection.id, None)
            if not link.connections:
                del self._links[token_id]

    def _schedule(self) -> None:
        while self._heap and self._heap[0][1] not in self._links:
            heapq.heappop(self._heap)
        if not self._heap:
            return
        first = self._heap[0][0]
        if self._timer is not None and self._timer_at is not None and self._timer_at <= first:
            return
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        delay = max(0.0, (first - now_ms()) / 1000)
        self._timer_at = first
        self._timer = loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        now = now_ms()
        frame = token_expired_frame(self.node)
        while self._heap and self._heap[0][0] <= now:
            _, token_id = heapq.heappop(self._heap)
            link = self._links.pop(token_id, None)
            if link is None:
                continue
            for connection in link.connections.values():
                connection.state.pop(_LINK_KEY, None)
                if connection.push is not None:
                    connection.push(frame)
                for hook in self.on_expired:
                    try:
                        hook(connection)
                    except Exception:
                        log.exception("token-expired hook failed")
        self._schedule()
