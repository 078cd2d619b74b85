"""Who sent a request and over what: the data handlers see besides the request itself."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kserver.wire.request import Protocol

ANONYMOUS_KUID = "-1"

_connection_ids = itertools.count(1)


@dataclass(slots=True, eq=False)
class Connection:
    """One client connection (a WebSocket, or a single HTTP request).

    ``push`` queues a pre-serialised frame to the client; it is None for HTTP,
    which cannot receive notifications. Services may keep per-connection state
    in ``state`` (tokens linked to the connection, subscriptions...).
    """

    protocol: Protocol
    address: str | None = None
    push: Callable[[bytes], None] | None = None
    id: str = field(default_factory=lambda: f"c{next(_connection_ids)}")
    state: dict[str, Any] = field(default_factory=dict)
    admission: Any = None
    """The router gate's memo of what this connection was last admitted for (see AuthGate)."""


@dataclass(slots=True)
class Caller:
    """The authenticated identity of a request: anonymous unless a valid token was given."""

    kuid: str = ANONYMOUS_KUID
    profile_ids: tuple[str, ...] = ("anonymous",)
    token: Any = None
    user: dict[str, Any] | None = None

    @property
    def anonymous(self) -> bool:
        return self.kuid == ANONYMOUS_KUID


ANONYMOUS = Caller()
"""The caller of every request without a token (shared: a Caller is never changed once made)."""


@dataclass(slots=True)
class Context:
    connection: Connection
    caller: Caller
