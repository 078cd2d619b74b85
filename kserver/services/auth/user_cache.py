"""The users the gate resolves tokens to, kept briefly so an authenticated request costs no store read.

An entry lives at most ``ttl`` seconds (1 s, the token cache's bound) and is
dropped at once on any change to that user made through this node (the
``UserEvents`` listener): a deleted or re-profiled user is seen immediately
here, and within ``ttl`` on other nodes sharing the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kserver.services.collections import USERS
from kserver.services.epoch import Epoch
from kserver.services.user_events import UserEvent
from kserver.storage.port import Engine

CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class KnownUser:
    """A user as the gate needs it: its content (None: no such user) and its profile ids."""

    content: dict[str, Any] | None
    profile_ids: tuple[str, ...]


class UserCache:
    def __init__(self, engine: Engine, *, ttl: float = 1.0, epoch: Epoch | None = None) -> None:
        self.engine = engine
        self.ttl = ttl
        self.epoch = epoch or Epoch()  # bumped whenever an entry is dropped before its time
        self._entries: dict[str, tuple[float, KnownUser]] = {}

    def cached(self, kuid: str) -> KnownUser | None:
        """The entry for ``kuid`` if one is fresh (no await: the authenticated hot path)."""
        entry = self._entries.get(kuid)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return None

    async def get(self, kuid: str) -> KnownUser:
        """The fresh entry, or the user read from the store and remembered."""
        known = self.cached(kuid)
        if known is not None:
            return known
        stored = await self.engine.get(USERS, kuid)
        content = stored.source.get("content") if stored is not None else None
        content = content if isinstance(content, dict) or content is None else {}
        profile_ids = content.get("profileIds") if content is not None else None
        profiles = (
            tuple(p for p in profile_ids if isinstance(p, str)) if isinstance(profile_ids, list) else ()
        )
        known = KnownUser(content, profiles)
        if len(self._entries) >= CACHE_SIZE:
            self._entries.clear()
            self.epoch.bump()
        self._entries[kuid] = (time.monotonic() + self.ttl, known)
        return known

    def fresh_until(self, kuid: str) -> float:
        """The monotonic time until which ``cached(kuid)`` answers (0.0: it does not now)."""
        entry = self._entries.get(kuid)
        return 0.0 if entry is None else entry[0]

    def forget(self, kuid: str) -> None:
        if self._entries.pop(kuid, None) is not None:
            self.epoch.bump()

    def on_user_event(self, event: UserEvent) -> None:
        self.forget(event.kuid)
