"""The realtime index: registered filters by room id, and the matching of documents.

Filters are stored per (index, collection) as subfilters (the conjunctions of
their DNF), shared between filters. Each subfilter is filed under one *anchor*
literal, the most selective it has:

- a positive ``equals`` literal when it has one: those are indexed by field,
  then by value, so a document costs one dict lookup per distinct equality
  field whatever the number of filters (``in`` and ``ids`` are ``equals`` after
  normalization), and only the subfilters whose anchor value matches are looked at;
- else its first literal, evaluated once per test for all subfilters filed under it.

A candidate subfilter then checks its other literals, each evaluated at most
once per test (memoised). So 10,000 filters ``equals user X and range ...``
cost one lookup and one range evaluation per document, not 10,000 visits.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from kserver.koncorde.conditions import DNF, Equals, Lit, eq_key
from kserver.koncorde.document import FlatDocument, flatten
from kserver.koncorde.normalize import room_id, to_dnf
from kserver.koncorde.parse import parse

DEFAULT_SEED = b"kserver/koncorde room ids, v1 :)"
"""32 bytes; room ids depend on it, so changing it changes every room id."""


@dataclass(frozen=True, slots=True)
class NormalizedFilter:
    """A validated filter in canonical form, with its room id; what ``store`` takes."""

    index: str
    collection: str
    dnf: DNF
    room_id: str


@dataclass(slots=True)
class MatchStats:
    """Counters of the work done by ``test`` (cumulative), for tests and benchmarks."""

    tests: int = 0
    visited_subfilters: int = 0
    evaluated_conditions: int = 0
    last_visited: int = 0


class _Subfilter:
    """A conjunction shared by the rooms whose DNF holds it."""

    __slots__ = ("lits", "rooms", "size")

    def __init__(self, lits: tuple[Lit, ...]) -> None:
        self.lits = lits
        self.size = len(lits)
        self.rooms: set[str] = set()


Bucket = dict[_Subfilter, None]


class _Collection:
    """The subfilters of one (index, collection) and their literal indexes."""

    __slots__ = ("always", "equals", "subfilters", "tests")

    def __init__(self) -> None:
        self.subfilters: dict[tuple[Lit, ...], _Subfilter] = {}
        self.equals: dict[str, dict[Hashable, Bucket]] = {}
        self.tests: dict[Lit, Bucket] = {}
        self.always: Bucket = {}

    def add(self, room: str, dnf: DNF) -> None:
        for lits in dnf:
            subfilter = self.subfilters.get(lits)
            if subfilter is None:
                subfilter = self.subfilters[lits] = _Subfilter(lits)
                for bucket in self._buckets(lits, create=True):
                    bucket[subfilter] = None
            subfilter.rooms.add(room)

    def discard(self, room: str, dnf: DNF) -> None:
        for lits in dnf:
            subfilter = self.subfilters[lits]
            subfilter.rooms.discard(room)
            if subfilter.rooms:
                continue
            del self.subfilters[lits]
            for bucket in self._buckets(lits, create=False):
                del bucket[subfilter]
            self._prune(lits)

    def _buckets(self, lits: tuple[Lit, ...], *, create: bool) -> list[Bucket]:
        """The one bucket a subfilter is filed under (see the module docstring)."""
        if not lits:
            return [self.always]
        lit = _anchor(lits)
        cond = lit.cond
        if isinstance(cond, Equals) and not lit.negated:
            values = self.equals.setdefault(cond.field, {}) if create else self.equals[cond.field]
            return [values.setdefault(cond.index_key, {}) if create else values[cond.index_key]]
        return [self.tests.setdefault(lit, {}) if create else self.tests[lit]]

    def _prune(self, lits: tuple[Lit, ...]) -> None:
        if not lits:
            return
        lit = _anchor(lits)
        cond = lit.cond
        if isinstance(cond, Equals) and not lit.negated:
            values = self.equals[cond.field]
            if not values[cond.index_key]:
                del values[cond.index_key]
            if not values:
                del self.equals[cond.field]
        elif not self.tests[lit]:
            del self.tests[lit]

    @property
    def empty(self) -> bool:
        return not self.subfilters

    def match(self, doc: FlatDocument, stats: MatchStats) -> set[str]:
        rooms: set[str] = set()
        holds: dict[Lit, bool] = {}  # each literal evaluated at most once per test
        visited = 0

        def visit(bucket: Bucket) -> None:
            for subfilter in bucket:
                if subfilter.size > 1:
                    for lit in subfilter.lits:
                        value = holds.get(lit)
                        if value is None:
                            value = holds[lit] = lit.holds(doc)
                        if not value:
                            break
                    else:
                        rooms.update(subfilter.rooms)
                    continue
                rooms.update(subfilter.rooms)

        for field, values in self.equals.items():
            if field in doc:
                bucket = values.get(eq_key(doc[field]))
                if bucket:
                    visited += len(bucket)
                    visit(bucket)
        for lit, bucket in self.tests.items():
            value = holds.get(lit)
            if value is None:
                value = holds[lit] = lit.holds(doc)
            if value:
                visited += len(bucket)
                visit(bucket)
        for subfilter in self.always:
            rooms.update(subfilter.rooms)
        stats.tests += 1
        stats.last_visited = visited + len(self.always)
        stats.visited_subfilters += stats.last_visited
        stats.evaluated_conditions += len(holds)
        return rooms


def _anchor(lits: tuple[Lit, ...]) -> Lit:
    """The literal a subfilter is filed under: its first positive ``equals``, else its first literal."""
    for lit in lits:
        if not lit.negated and isinstance(lit.cond, Equals):
            return lit
    return lits[0]


class Koncorde:
    """Filters registered per (index, collection), tested against documents.

    ``register`` is idempotent: the same filter (after normalization) on the same
    collection gives the same room id and is stored once; one ``remove`` drops
    it (reference counting subscribers is the caller's job). Not thread-safe.
    """

    def __init__(self, *, max_conditions: int = 100, seed: bytes = DEFAULT_SEED) -> None:
        if max_conditions < 0:
            raise ValueError("max_conditions must be >= 0 (0: no limit)")
        self.max_conditions = max_conditions
        self.seed = seed
        self.stats = MatchStats()
        self._collections: dict[tuple[str, str], _Collection] = {}
        self._rooms: dict[str, NormalizedFilter] = {}

    def validate(self, filters: object) -> None:
        """Raise KoncordeError if ``filters`` could not be registered (limits included)."""
        to_dnf(parse(filters, self.max_conditions), self.max_conditions)

    def normalize(self, index: str, collection: str, filters: object) -> NormalizedFilter:
        """The canonical form and room id of ``filters``, without storing it; raises KoncordeError."""
        dnf = to_dnf(parse(filters, self.max_conditions), self.max_conditions)
        return NormalizedFilter(index, collection, dnf, room_id(self.seed, dnf, index, collection))

    def register(self, index: str, collection: str, filters: object) -> str:
        """Store ``filters`` (if new) and return its room id; raises KoncordeError."""
        return self.store(self.normalize(index, collection, filters))

    def store(self, normalized: NormalizedFilter) -> str:
        """Store a filter from ``normalize`` (if new) and return its room id."""
        if normalized.room_id not in self._rooms:
            key = (normalized.index, normalized.collection)
            collection = self._collections.get(key)
            if collection is None:
                collection = self._collections[key] = _Collection()
            collection.add(normalized.room_id, normalized.dnf)
            self._rooms[normalized.room_id] = normalized
        return normalized.room_id

    def remove(self, room: str) -> None:
        """Forget a room; unknown rooms are ignored."""
        normalized = self._rooms.pop(room, None)
        if normalized is None:
            return
        key = (normalized.index, normalized.collection)
        collection = self._collections[key]
        collection.discard(room, normalized.dnf)
        if collection.empty:
            del self._collections[key]

    def has(self, room: str) -> bool:
        return room in self._rooms

    def watches(self, index: str, collection: str) -> bool:
        """Whether any room is registered on this collection (``test`` can match something)."""
        return (index, collection) in self._collections

    def get(self, room: str) -> NormalizedFilter | None:
        return self._rooms.get(room)

    def room_ids(self, index: str, collection: str) -> list[str]:
        """The rooms registered on one collection."""
        return [r for r, n in self._rooms.items() if n.index == index and n.collection == collection]

    def test(
        self, index: str, collection: str, document: Mapping[str, Any], id: str | None = None
    ) -> list[str]:
        """Room ids of the collection whose filter matches ``document`` (any order).

        ``id`` is the document's ``_id`` (what ``ids`` and ``equals {_id}`` test).
        """
        target = self._collections.get((index, collection))
        if target is None:
            return []
        return list(target.match(flatten(document, id), self.stats))
