"""Scroll cursors of user and profile searches, kept in memory on the node that opened them.

A cursor is ``(collection, filter, sort, page size, position, expiry)``; each
scroll re-runs the query from the position, so a scroll sees writes made since
it opened (no snapshot, unlike Elasticsearch). An exhausted or expired cursor is
forgotten: scrolling it again is ``services.storage.unknown_scroll_id``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kserver.storage.filters import Filter
from kserver.storage.port import SortSpec
from kserver.wire.catalog import kerror

MAX_TTL_MS = 60_000  # Kuzzle's maxScrollDuration "1m"
DEFAULT_TTL_MS = 15_000  # Kuzzle's default scrollTTL "15s"

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def scroll_ttl_ms(value: Any) -> int:
    """A scroll TTL (ms number, or "15s", "1m"...) in ms; raises api.assert.invalid_argument or
    services.storage.scroll_duration_too_great (over 1 minute)."""
    if isinstance(value, bool):
        raise kerror("api.assert.invalid_argument", "scroll", "a duration (e.g. 30s, 1m)")
    if isinstance(value, int | float):
        ms = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        ms = float(match.group(1)) * _UNITS[match.group(2) or "ms"]
    else:
        raise kerror("api.assert.invalid_argument", "scroll", "a duration (e.g. 30s, 1m)")
    if ms > MAX_TTL_MS:
        raise kerror("services.storage.scroll_duration_too_great", str(value))
    if ms <= 0:
        raise kerror("api.assert.invalid_argument", "scroll", "a positive duration")
    return int(ms)


@dataclass(slots=True)
class Cursor:
    collection: str
    filter: Filter
    sort: SortSpec
    size: int
    position: int
    ttl_ms: int
    expires_at: float


class Scrolls:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cursors: dict[str, Cursor] = {}

    def open(
        self, collection: str, filter: Filter, sort: SortSpec, size: int, position: int, ttl_ms: int
    ) -> str:
        self._purge()
        scroll_id = uuid.uuid4().hex
        expires = self._clock() + ttl_ms / 1000
        self._cursors[scroll_id] = Cursor(collection, filter, sort, size, position, ttl_ms, expires)
        return scroll_id

    def take(self, scroll_id: str, collection: str, ttl_ms: int | None) -> Cursor:
        """The live cursor (its expiry pushed back by ``ttl_ms`` or its own TTL); raises unknown_scroll_id."""
        cursor = self._cursors.get(scroll_id)
        if cursor is None or cursor.collection != collection or cursor.expires_at <= self._clock():
            self._cursors.pop(scroll_id, None)
            raise kerror("services.storage.unknown_scroll_id")
        if ttl_ms is not None:
            cursor.ttl_ms = ttl_ms
        cursor.expires_at = self._clock() + cursor.ttl_ms / 1000
        return cursor

    def advance(self, scroll_id: str, fetched: int, total: int) -> None:
        """Move past ``fetched`` hits; forget the cursor once everything was read."""
        cursor = self._cursors.get(scroll_id)
        if cursor is None:
            return
        cursor.position += fetched
        if cursor.position >= total or fetched == 0:
            del self._cursors[scroll_id]

    def _purge(self) -> None:
        now = self._clock()
        for scroll_id in [k for k, c in self._cursors.items() if c.expires_at <= now]:
            del self._cursors[scroll_id]
