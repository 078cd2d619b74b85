"""One counter for every change that can make a past admission wrong.

The gate memoises, per WebSocket connection, that a jwt was valid and an action
allowed; the caches that admission was derived from (verified tokens, users,
roles, profiles) bump the same ``Epoch`` whenever one of their entries changes or
goes, so one integer compare tells the memo it is still current. Their time
bounds (entries' TTLs, a token's expiry) are the memo's deadline, not the epoch's.
"""

from __future__ import annotations


class Epoch:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def bump(self) -> None:
        self.value += 1
