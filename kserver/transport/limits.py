"""Admission limits of the transport: WebSocket connection counts, allowed origins, the abort
extension, and the encoding of replies.

Connection and origin refusals happen before the WebSocket upgrade completes: the client gets an
HTTP error (429, 503 or 401) whose body is a Kuzzle error envelope, not an accepted-then-closed socket.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson

from kserver.config import Settings
from kserver.wire.catalog import KuzzleError, kerror
from kserver.wire.envelope import dumps

log = logging.getLogger("kserver.transport")

ABORT_EXTENSION = "kserver.websocket.abort"
"""Scope extension: the server accepts ``{"type": "kserver.websocket.abort"}`` and drops the socket
at once (TCP reset), even when its write buffer is full and a close frame could never get out."""


def encode_envelope(body: dict[str, Any]) -> bytes:
    """``body`` as JSON (``encode_reply`` without the status, and without its calls when it fits)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return encode_reply(body)[0]


def encode_reply(body: dict[str, Any]) -> tuple[bytes, int]:
    """``body`` as JSON, and the status of what was encoded. orjson writes at most 254 nesting
    levels: an envelope deeper than that (a deep volatile or document echoed back) becomes a 500
    core.fatal.unexpected_error envelope instead, so the client still gets an answer."""
    try:
        return dumps(body), int(body.get("status") or 200)
    except TypeError:
        log.warning("reply to %s:%s nested too deeply to encode", body.get("controller"), body.get("action"))
    error = kerror("core.fatal.unexpected_error", "reply nested deeper than 254 levels")
    safe = {**body, "status": error.status, "error": error.to_json(), "result": None, "volatile": None}
    return dumps(safe), error.status


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int = 0
    max_connections_per_address: int = 0
    send_queue_bytes: int = 4 * 1024 * 1024
    send_queue_messages: int = 10_000

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_connections=settings.ws_max_connections,
            max_connections_per_address=settings.ws_max_connections_per_address,
            send_queue_bytes=settings.ws_send_queue_bytes,
            send_queue_messages=settings.ws_send_queue_messages,
        )


class ConnectionCounter:
    """Open WebSocket connections, in total and per client address."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0
        self._per_address: Counter[str] = Counter()

    def admit(self, address: str | None) -> KuzzleError | None:
        """Count one more connection, or return why it is refused (then do not call ``release``)."""
        limits = self.limits
        if limits.max_connections > 0 and self.total >= limits.max_connections:
            return kerror("api.process.overloaded")
        key = address or ""
        if limits.max_connections_per_address > 0 and self._per_address[key] >= (
            limits.max_connections_per_address
        ):
            return kerror("api.process.too_many_requests")
        self.total += 1
        self._per_address[key] += 1
        return None

    def release(self, address: str | None) -> None:
        key = address or ""
        self.total -= 1
        self._per_address[key] -= 1
        if self._per_address[key] <= 0:
            del self._per_address[key]


class OriginPolicy:
    """CORS: with no configured origins every Origin is echoed without credentials; with a list,
    listed origins get credentials and any other Origin is refused (api.process.unauthorized_origin)."""

    def __init__(self, origins: str) -> None:
        self.allowed = frozenset(o.strip().rstrip("/") for o in origins.split(",") if o.strip())

    def check(self, origin: str | None) -> None:
        """Raises api.process.unauthorized_origin for an Origin outside a configured list."""
        if origin is not None and not self.allows(origin):
            raise kerror("api.process.unauthorized_origin", origin)

    def allows(self, origin: str) -> bool:
        return not self.allowed or origin.rstrip("/") in self.allowed

    def credentials(self, origin: str) -> bool:
        return origin.rstrip("/") in self.allowed
