"""Failed-login throttling per username and per client address (in memory, per node).

Kuzzle limits logins per connection, which does nothing against HTTP brute force
(each request is a new connection). Here each failure is counted against the
username and the client address over a sliding minute; past the limit, logins
for that key are refused (``api.process.too_many_logins_requests``, 429) before
any password is checked. A success clears the username's count.
"""

from __future__ import annotations

import time
from collections import deque

from kserver.wire.catalog import kerror

WINDOW_S = 60.0
MAX_KEYS = 100_000


class LoginThrottle:
    def __init__(self, failures_per_minute: int) -> None:
        self.limit = failures_per_minute
        self._failures: dict[str, deque[float]] = {}

    def _keys(self, username: str | None, address: str | None) -> list[str]:
        keys = []
        if username:
            keys.append("u:" + username)
        if address:
            keys.append("a:" + address)
        return keys

    def _recent(self, key: str, now: float) -> int:
        window = self._failures.get(key)
        if window is None:
            return 0
        while window and window[0] <= now - WINDOW_S:
            window.popleft()
        if not window:
            del self._failures[key]
            return 0
        return len(window)

    def check(self, username: str | None, address: str | None) -> None:
        """Raises api.process.too_many_logins_requests when either key is over the limit."""
        if self.limit <= 0:
            return
        now = time.monotonic()
        for key in self._keys(username, address):
            if self._recent(key, now) >= self.limit:
                raise kerror("api.process.too_many_logins_requests")

    def failed(self, username: str | None, address: str | None) -> None:
        if self.limit <= 0:
            return
        now = time.monotonic()
        if len(self._failures) >= MAX_KEYS:
            self._prune(now)
        for key in self._keys(username, address):
            window = self._failures.setdefault(key, deque(maxlen=self.limit))
            window.append(now)

    def succeeded(self, username: str | None) -> None:
        if username:
            self._failures.pop("u:" + username, None)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        if len(self._failures) >= MAX_KEYS:  # a flood of distinct keys: forget the oldest half
            for key in list(self._failures)[: MAX_KEYS // 2]:
                del self._failures[key]
