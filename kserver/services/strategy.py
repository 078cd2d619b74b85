"""The authentication-strategy contract shared by the users service and the auth services.

A user's credentials live inside its user document, at ``credentials.<strategy>``
(see ``kserver.services.collections``), so creating or changing a user and its
credentials is one atomic write. A strategy turns what a client sends into the
object stored there (validating and hashing, off the event loop) and checks
logins against it. It never writes to the store itself.
"""

from __future__ import annotations

from typing import Any, Protocol

from kserver.wire.catalog import kerror


class Strategy(Protocol):
    name: str
    fields: list[str]

    async def prepare(
        self, kuid: str, payload: dict[str, Any], *, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Validate ``payload`` (create when ``current`` is None, else update) and return the object to store.

        Raises catalog errors (e.g. api.assert.missing_argument for a missing field,
        security.credentials.rejected / the plugin's ids for policy failures). The
        stored object contains the unique login name at a fixed key (local: ``username``)
        and never the clear password.
        """

    def info(self, kuid: str, stored: dict[str, Any]) -> dict[str, Any]:
        """The public view of stored credentials (local: ``{username, kuid}``); never a hash."""

    async def verify(self, stored: dict[str, Any], payload: dict[str, Any]) -> bool:
        """True when ``payload`` (e.g. ``{username, password}``) matches ``stored``; off the event loop."""

    def login_key(self, payload: dict[str, Any]) -> tuple[str, Any] | None:
        """The (dotted path under the user document, value) to find the user by at login, if any."""


class Strategies:
    """The registry of enabled strategies (``local`` for now)."""

    def __init__(self, strategies: list[Strategy]) -> None:
        self._by_name = {s.name: s for s in strategies}

    def names(self) -> list[str]:
        return list(self._by_name)

    def get(self, name: str) -> Strategy:
        """Raises security.credentials.unknown_strategy."""
        strategy = self._by_name.get(name)
        if strategy is None:
            raise kerror("security.credentials.unknown_strategy", name)
        return strategy
