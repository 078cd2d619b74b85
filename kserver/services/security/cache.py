"""A small time-bounded cache for roles and profiles, read on every request's rights check."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from kserver.services.epoch import Epoch

T = TypeVar("T")


class TtlCache(Generic[T]):
    """Entries live ``ttl`` seconds at most.

    The services that own the cached collection ``put``/``drop`` on every write
    they make, so one node always reads its own writes; the TTL bounds how long
    a node may miss another node's write to a shared store (e.g. several nodes
    on one MongoDB converge within ``ttl``).
    """

    def __init__(
        self, ttl: float, clock: Callable[[], float] = time.monotonic, epoch: Epoch | None = None
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, T]] = {}
        self.generation = 0
        """Grows on every change, so memos derived from this cache know when to forget."""
        self.epoch = epoch or Epoch()
        """Bumped with ``generation``; shared with the other caches the gate's memo derives from."""

    def get(self, key: str) -> T | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[key]
            self._changed()
            return None
        return value

    def put(self, key: str, value: T) -> None:
        self._entries[key] = (self._clock() + self.ttl, value)
        self._changed()

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)
        self._changed()

    def clear(self) -> None:
        self._entries.clear()
        self._changed()

    def _changed(self) -> None:
        self.generation += 1
        self.epoch.bump()
