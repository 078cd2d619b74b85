"""The storage port: the small async interface every service uses.

A document is ``(id, source, version)``. ``source`` is a JSON object;
``version`` starts at 1 and grows by one on every write, so callers can do
optimistic concurrency (``if_version``). Collections declare *unique paths*
when they are opened: the engine enforces that no two documents share a value
at such a path (for an array value, every element counts), inside the same
atomic write, never by a read-then-write.

Every write is atomic per call. ``durable=True`` (Kuzzle's ``refresh=wait_for``)
returns only once the write is flushed to stable storage and visible to every
read; ``durable=False`` returns once committed and visible, before the flush.
Neither mode loses an acknowledged write if the process is killed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from kserver.storage.filters import Filter

Source = dict[str, Any]
SortSpec = Sequence[tuple[str, Literal[1, -1]]]


@dataclass(slots=True)  # one or more per request: not frozen, whose __init__ costs 3 times as much
class Stored:
    id: str
    source: Source
    version: int

    # An explicit __init__: mypyc compiles it; the one @dataclass writes stays interpreted (per request).
    def __init__(self, id: str, source: Source, version: int) -> None:
        self.id = id
        self.source = source
        self.version = version


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[Stored]
    total: int


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    """A collection and the dotted paths whose values must be unique across its documents."""

    name: str
    unique_paths: tuple[str, ...] = ()
    indexed_paths: tuple[str, ...] = field(default=())


class StorageError(Exception):
    """Base of every error an engine raises; engines translate their driver's errors into these."""


class StorageUnavailable(StorageError):
    """The store cannot be reached or failed; the operation may not have happened."""


class UnstorableValue(StorageError):
    """The store cannot hold the document as given (MongoDB: a field name with a NUL byte, an integer
    beyond 64 bits); nothing was written. The caller's input, not the store, is at fault."""


class StorageConflict(StorageError):
    """A version check failed: the document changed (or appeared, or vanished) meanwhile."""


class DuplicateKey(StorageConflict):
    """The write would give a unique path a value another document holds (``path`` may be ``_id``)."""

    def __init__(self, path: str, value: Any = None, holder: str | None = None) -> None:
        super().__init__(f"duplicate value at {path}")
        self.path = path
        self.value = value
        self.holder = holder


class Engine(Protocol):
    """What every storage engine implements. All methods are safe to call concurrently."""

    name: str

    async def open(self, collections: Sequence[CollectionSpec]) -> None:
        """Connect and create collections and unique indexes idempotently."""

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """True when the store answers."""

    async def get(self, collection: str, id: str) -> Stored | None: ...

    async def mget(self, collection: str, ids: Sequence[str]) -> list[Stored]:
        """The documents that exist, in the order of ``ids``."""

    async def create(self, collection: str, id: str, source: Source, *, durable: bool) -> Stored:
        """Insert; raises DuplicateKey("_id") if the id exists, DuplicateKey(path) on a unique path."""

    async def replace(
        self, collection: str, id: str, source: Source, *, if_version: int | None = None, durable: bool
    ) -> Stored | None:
        """Replace the whole source of an existing document; None if it does not exist.

        Raises StorageConflict when ``if_version`` is given and differs, DuplicateKey on a unique path.
        """

    def update(
        self,
        collection: str,
        id: str,
        set_paths: Mapping[str, Any],
        *,
        unset_paths: Sequence[str] = (),
        if_version: int | None = None,
        durable: bool,
    ) -> Awaitable[Stored | None]:
        """Set (dotted) paths of an existing document, creating intermediate objects; None if absent.

        Awaitable rather than a coroutine (as ``upsert``): an engine may hand back its own future."""

    def upsert(
        self,
        collection: str,
        id: str,
        set_paths: Mapping[str, Any],
        set_on_insert: Mapping[str, Any],
        *,
        if_version: int | None = None,
        durable: bool,
    ) -> Awaitable[tuple[Stored, bool]]:
        """Atomic insert-or-update; returns (document, created).

        On insert the document is built from ``set_on_insert`` then ``set_paths``
        (set_paths win); on update only ``set_paths`` apply. ``if_version`` only
        guards the update path (an existing document of another version raises
        StorageConflict). Raises DuplicateKey on a unique path.
        """

    async def delete(self, collection: str, id: str, *, if_version: int | None = None, durable: bool) -> bool:
        """True if a document was deleted."""

    async def search(
        self,
        collection: str,
        filter: Filter,
        *,
        sort: SortSpec = (),
        offset: int = 0,
        limit: int = 10,
    ) -> SearchPage:
        """Matching documents (sorted, then ``_id`` ascending as a tiebreak) and the total count."""

    async def count(self, collection: str, filter: Filter) -> int: ...

    async def delete_matching(self, collection: str, filter: Filter, *, durable: bool) -> int:
        """Delete every matching document; returns how many."""
