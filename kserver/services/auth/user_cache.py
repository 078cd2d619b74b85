"""The users the gate resolves tokens to, kept briefly so an authenticated request costs no store read.

An entry lives at most ``ttl`` seconds (1 s, the token cache's bound) and is
dropped at once on any change to that user made through this node (the
``UserEvents`` listener): a deleted or re-profiled user is seen immediately
here, and within ``ttl`` on other nodes sharing the store.
"""

from __future__ import annotations

import time
from typing import Any

from kserver.services.collections import USERS
from kserver.services.user_events import UserEvent
from kserver.storage.port import Engine

CACHE_SIZE = 10_000


class UserCache:
    def __init__(self, engine: Engine, *, ttl: float = 1.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._entries: dict[str, tuple[float, dict[str, Any] | None]] = {}

    async def content(self, kuid: str) -> dict[str, Any] | None:
        """The user's content (profileIds...), None if there is no such user."""
        entry = self._entries.get(kuid)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            return entry[1]
        stored = await self.engine.get(USERS, kuid)
        content = stored.source.get("content") if stored is not None else None
        content = content if isinstance(content, dict) or content is None else {}
        if len(self._entries) >= CACHE_SIZE:
            self._entries.clear()
        self._entries[kuid] = (now + self.ttl, content)
        return content

    def forget(self, kuid: str) -> None:
        self._entries.pop(kuid, None)

    def on_user_event(self, event: UserEvent) -> None:
        self.forget(event.kuid)
