"""Every change to a user, as an event listeners can follow (live user events for dashboards).

The users services emit; the realtime layer (and metrics) listen. Emitting never
blocks the writer: listeners are plain callables that must not raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger("kserver.user_events")

UserAction = Literal["create", "update", "replace", "delete", "upsert"]


@dataclass(slots=True)  # one or more per request: not frozen, whose __init__ costs 3 times as much
class UserEvent:
    action: UserAction
    kuid: str
    source: dict[str, Any] | None
    created: bool | None
    author: str | None
    volatile: dict[str, Any] | None
    request_id: str | None

    # An explicit __init__ (the defaults are its own): mypyc compiles it; the one @dataclass writes
    # stays interpreted (per request).
    def __init__(
        self,
        action: UserAction,
        kuid: str,
        source: dict[str, Any] | None,
        created: bool | None = None,
        author: str | None = None,
        volatile: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        self.action = action
        self.kuid = kuid
        self.source = source
        self.created = created
        self.author = author
        self.volatile = volatile
        self.request_id = request_id


class UserEvents:
    def __init__(self) -> None:
        self._listeners: list[Callable[[UserEvent], None]] = []

    def listen(self, listener: Callable[[UserEvent], None]) -> None:
        self._listeners.append(listener)

    def emit(self, event: UserEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("user event listener failed")
