"""Searches of users and profiles with ``from``/``size`` or scroll cursors, run in the store."""

from __future__ import annotations

from dataclasses import dataclass

from kserver.services.security.queries import Query
from kserver.services.security.scrolls import Scrolls
from kserver.storage.port import Engine, Stored
from kserver.wire.catalog import kerror


@dataclass(frozen=True, slots=True)
class Page:
    hits: list[Stored]
    total: int
    scroll_id: str | None = None


class Pager:
    def __init__(self, engine: Engine, scrolls: Scrolls, *, fetch_limit: int) -> None:
        self.engine = engine
        self.scrolls = scrolls
        self.fetch_limit = fetch_limit

    def check_size(self, size: int) -> None:
        """Raises services.storage.get_limit_exceeded over ``documents_fetch_count``."""
        if size > self.fetch_limit:
            raise kerror("services.storage.get_limit_exceeded")
        if size < 0:
            raise kerror("api.assert.invalid_argument", "size", "a positive integer")

    async def search(
        self, collection: str, query: Query, *, offset: int, size: int, scroll_ms: int | None
    ) -> Page:
        """One page; with ``scroll_ms`` a cursor positioned after it is opened."""
        self.check_size(size)
        if offset < 0:
            raise kerror("api.assert.invalid_argument", "from", "a positive integer")
        page = await self.engine.search(collection, query.filter, sort=query.sort, offset=offset, limit=size)
        scroll_id = None
        if scroll_ms is not None:
            scroll_id = self.scrolls.open(
                collection, query.filter, query.sort, size, offset + len(page.hits), scroll_ms
            )
        return Page(page.hits, page.total, scroll_id)

    async def scroll(self, collection: str, scroll_id: str, scroll_ms: int | None) -> Page:
        """The next page of a cursor; raises services.storage.unknown_scroll_id."""
        cursor = self.scrolls.take(scroll_id, collection, scroll_ms)
        page = await self.engine.search(
            collection, cursor.filter, sort=cursor.sort, offset=cursor.position, limit=cursor.size
        )
        self.scrolls.advance(scroll_id, len(page.hits), page.total)
        return Page(page.hits, page.total, scroll_id)
