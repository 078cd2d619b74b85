"""The storage port's contract, run against every registered engine through the ``engine`` fixture.

Collections (see conftest): ``users`` has unique paths ``name`` and ``emails``;
``things`` has none.
"""

from __future__ import annotations

import asyncio

import pytest

from kserver.storage.filters import (
    MATCH_ALL,
    And,
    Eq,
    Exists,
    Filter,
    Ids,
    In,
    Not,
    Or,
    Prefix,
    Range,
    Regexp,
)
from kserver.storage.port import CollectionSpec, DuplicateKey, Engine, SortSpec, StorageConflict, Stored

U = "users"
T = "things"


async def test_ping(engine: Engine) -> None:
    assert await engine.ping() is True


async def test_create_then_get(engine: Engine) -> None:
    stored = await engine.create(T, "a", {"x": 1, "o": {"k": [1, "2"]}}, durable=True)
    assert stored == Stored("a", {"x": 1, "o": {"k": [1, "2"]}}, 1)
    assert await engine.get(T, "a") == stored
    assert await engine.get(T, "missing") is None
    assert await engine.get(U, "a") is None  # collections are separate


async def test_create_existing_id_raises(engine: Engine) -> None:
    await engine.create(T, "a", {"x": 1}, durable=False)
    with pytest.raises(DuplicateKey) as caught:
        await engine.create(T, "a", {"x": 2}, durable=False)
    assert caught.value.path == "_id"
    assert await engine.get(T, "a") == Stored("a", {"x": 1}, 1)


async def test_same_id_in_two_collections(engine: Engine) -> None:
    await engine.create(T, "a", {"x": 1}, durable=False)
    await engine.create(U, "a", {"x": 2}, durable=False)
    assert (await engine.get(T, "a"), await engine.get(U, "a")) == (
        Stored("a", {"x": 1}, 1),
        Stored("a", {"x": 2}, 1),
    )


async def test_unique_scalar_between_documents(engine: Engine) -> None:
    await engine.create(U, "a", {"name": "ann"}, durable=False)
    with pytest.raises(DuplicateKey) as caught:
        await engine.create(U, "b", {"name": "ann"}, durable=False)
    assert (caught.value.path, caught.value.value, caught.value.holder) == ("name", "ann", "a")
    assert await engine.get(U, "b") is None
    await engine.create(U, "c", {"name": "bob"}, durable=False)


async def test_unique_path_is_per_collection(engine: Engine) -> None:
    await engine.create(U, "a", {"name": "ann"}, durable=False)
    await engine.create(T, "b", {"name": "ann"}, durable=False)
    await engine.create(T, "c", {"name": "ann"}, durable=False)


async def test_unique_array_elements(engine: Engine) -> None:
    await engine.create(U, "a", {"emails": ["a@x", "shared@x"]}, durable=False)
    with pytest.raises(DuplicateKey) as caught:
        await engine.create(U, "b", {"emails": ["b@x", "shared@x"]}, durable=False)
    assert (caught.value.path, caught.value.value, caught.value.holder) == ("emails", "shared@x", "a")
    with pytest.raises(DuplicateKey):
        await engine.create(U, "c", {"emails": "a@x"}, durable=False)  # a scalar against an element
    await engine.create(U, "d", {"emails": ["d@x", "d@x"]}, durable=False)  # repeated within one doc
    assert await engine.get(U, "b") is None
    assert await engine.get(U, "c") is None


async def test_missing_unique_values_do_not_collide(engine: Engine) -> None:
    await engine.create(U, "a", {"other": 1}, durable=False)
    await engine.create(U, "b", {"other": 1}, durable=False)
    assert await engine.count(U, MATCH_ALL) == 2


async def test_rewriting_own_unique_value_is_fine(engine: Engine) -> None:
    await engine.create(U, "a", {"name": "ann", "emails": ["a@x"]}, durable=False)
    await engine.replace(U, "a", {"name": "ann", "emails": ["a@x", "b@x"]}, durable=False)
    await engine.update(U, "a", {"name": "ann", "emails": ["b@x"]}, durable=False)
    stored, created = await engine.upsert(U, "a", {"name": "ann"}, {}, durable=False)
    assert (created, stored.version) == (False, 4)


async def test_unique_violation_on_every_write_leaves_the_document(engine: Engine) -> None:
    await engine.create(U, "a", {"name": "ann", "emails": ["a@x"]}, durable=False)
    await engine.create(U, "b", {"name": "bob"}, durable=False)
    with pytest.raises(DuplicateKey):
        await engine.replace(U, "b", {"name": "ann"}, durable=False)
    with pytest.raises(DuplicateKey):
        await engine.update(U, "b", {"emails": ["z@x", "a@x"]}, durable=False)
    with pytest.raises(DuplicateKey):
        await engine.upsert(U, "b", {"name": "ann"}, {}, durable=False)
    with pytest.raises(DuplicateKey):
        await engine.upsert(U, "new", {"emails": ["a@x"]}, {}, durable=False)
    assert await engine.get(U, "b") == Stored("b", {"name": "bob"}, 1)
    assert await engine.get(U, "new") is None


@pytest.mark.parametrize("free", ["update", "unset", "replace", "delete", "delete_matching"])
async def test_freeing_a_unique_value_lets_another_document_take_it(engine: Engine, free: str) -> None:
    await engine.create(U, "a", {"name": "ann", "emails": ["a@x", "keep@x"]}, durable=False)
    if free == "update":
        await engine.update(U, "a", {"name": "anne", "emails": ["keep@x"]}, durable=False)
    elif free == "unset":
        await engine.update(U, "a", {}, unset_paths=["name", "emails"], durable=False)
    elif free == "replace":
        await engine.replace(U, "a", {"other": True}, durable=False)
    elif free == "delete":
        assert await engine.delete(U, "a", durable=False) is True
    else:
        assert await engine.delete_matching(U, Ids(("a",)), durable=False) == 1
    await engine.create(U, "b", {"name": "ann", "emails": ["a@x"]}, durable=False)
    assert [hit.id for hit in (await engine.search(U, Eq("name", "ann"))).hits] == ["b"]


async def test_a_nested_unique_path_follows_writes_of_its_parents_and_siblings(engine: Engine) -> None:
    """``c.l.u`` unique: writing a sibling keeps the claim, writing or removing a parent moves it."""
    await engine.open([CollectionSpec("deep", unique_paths=("c.l.u",))])
    await engine.create("deep", "a", {"c": {"l": {"u": "x", "v": 1}}}, durable=False)
    await engine.update("deep", "a", {"c.l.v": 2, "c.w": 3}, durable=False)  # siblings only
    await engine.upsert("deep", "a", {"c.l.v": 4}, {}, durable=False)
    with pytest.raises(DuplicateKey):
        await engine.create("deep", "b", {"c": {"l": {"u": "x"}}}, durable=False)
    await engine.update("deep", "a", {"c.l": {"u": "y"}}, durable=False)  # a parent: x is freed
    await engine.create("deep", "b", {"c": {"l": {"u": "x"}}}, durable=False)
    with pytest.raises(DuplicateKey):
        await engine.upsert("deep", "b", {"c": {"l": {"u": "y"}}}, {}, durable=False)
    await engine.update("deep", "a", {}, unset_paths=["c.l"], durable=False)  # y is freed
    await engine.upsert("deep", "b", {"c": {"l": {"u": "y"}}}, {}, durable=False)
    with pytest.raises(DuplicateKey):
        await engine.update("deep", "a", {"c.l.u": "y"}, durable=False)
    assert (await engine.get("deep", "a")) == Stored("a", {"c": {"w": 3}}, 5)


async def test_versions_increment_on_every_write(engine: Engine) -> None:
    assert (await engine.create(T, "a", {"n": 0}, durable=False)).version == 1
    updated = await engine.update(T, "a", {"n": 1}, durable=False)
    replaced = await engine.replace(T, "a", {"n": 2}, durable=True)
    upserted, created = await engine.upsert(T, "a", {"n": 3}, {"ignored": 1}, durable=False)
    assert (updated and updated.version, replaced and replaced.version) == (2, 3)
    assert (upserted, created) == (Stored("a", {"n": 3}, 4), False)
    assert await engine.get(T, "a") == Stored("a", {"n": 3}, 4)


async def test_if_version_conflicts(engine: Engine) -> None:
    await engine.create(T, "a", {"n": 0}, durable=False)
    with pytest.raises(StorageConflict):
        await engine.replace(T, "a", {"n": 1}, if_version=2, durable=False)
    with pytest.raises(StorageConflict):
        await engine.update(T, "a", {"n": 1}, if_version=2, durable=False)
    with pytest.raises(StorageConflict):
        await engine.upsert(T, "a", {"n": 1}, {}, if_version=2, durable=False)
    with pytest.raises(StorageConflict):
        await engine.delete(T, "a", if_version=2, durable=False)
    assert await engine.get(T, "a") == Stored("a", {"n": 0}, 1)

    assert await engine.update(T, "a", {"n": 1}, if_version=1, durable=False) == Stored("a", {"n": 1}, 2)
    assert await engine.replace(T, "a", {"n": 2}, if_version=2, durable=False) == Stored("a", {"n": 2}, 3)
    assert await engine.upsert(T, "a", {"n": 3}, {}, if_version=3, durable=False) == (
        Stored("a", {"n": 3}, 4),
        False,
    )
    assert await engine.delete(T, "a", if_version=4, durable=False) is True


async def test_if_version_on_a_missing_document(engine: Engine) -> None:
    assert await engine.replace(T, "gone", {"n": 1}, if_version=1, durable=False) is None
    assert await engine.update(T, "gone", {"n": 1}, if_version=1, durable=False) is None
    assert await engine.delete(T, "gone", if_version=1, durable=False) is False
    # if_version only guards the update path of an upsert
    assert await engine.upsert(T, "gone", {"n": 1}, {}, if_version=7, durable=False) == (
        Stored("gone", {"n": 1}, 1),
        True,
    )


async def test_upsert_insert_then_update(engine: Engine) -> None:
    stored, created = await engine.upsert(
        T, "a", {"a.b": 1, "s": "set"}, {"s": "insert", "only": {"on": "insert"}}, durable=True
    )
    assert created is True
    assert stored == Stored("a", {"a": {"b": 1}, "s": "set", "only": {"on": "insert"}}, 1)
    stored, created = await engine.upsert(T, "a", {"a.c": 2}, {"only": "again", "more": 1}, durable=False)
    assert created is False
    assert stored == Stored("a", {"a": {"b": 1, "c": 2}, "s": "set", "only": {"on": "insert"}}, 2)
    assert await engine.get(T, "a") == stored


async def test_update_dotted_paths_and_unset(engine: Engine) -> None:
    await engine.create(T, "a", {"keep": 1, "o": {"x": 1, "y": 2}, "drop": 0}, durable=False)
    stored = await engine.update(
        T,
        "a",
        {"o.z.deep": True, "new.path": [1, 2], "o.x": "one"},
        unset_paths=["drop", "o.y", "no.such"],
        durable=False,
    )
    expected = {"keep": 1, "o": {"x": "one", "z": {"deep": True}}, "new": {"path": [1, 2]}}
    assert stored == Stored("a", expected, 2)
    assert await engine.get(T, "a") == stored


async def test_update_and_replace_of_a_missing_document(engine: Engine) -> None:
    assert await engine.update(T, "none", {"x": 1}, durable=False) is None
    assert await engine.replace(T, "none", {"x": 1}, durable=False) is None
    assert await engine.get(T, "none") is None


async def test_replace_drops_old_keys(engine: Engine) -> None:
    await engine.create(T, "a", {"old": 1, "o": {"k": 1}}, durable=False)
    assert await engine.replace(T, "a", {"new": 2}, durable=False) == Stored("a", {"new": 2}, 2)
    assert await engine.get(T, "a") == Stored("a", {"new": 2}, 2)


async def test_delete(engine: Engine) -> None:
    await engine.create(T, "a", {}, durable=False)
    assert await engine.delete(T, "a", durable=True) is True
    assert await engine.delete(T, "a", durable=True) is False
    assert await engine.get(T, "a") is None


async def test_mget_keeps_order_and_skips_missing(engine: Engine) -> None:
    for id in ("a", "b", "c"):
        await engine.create(T, id, {"id": id}, durable=False)
    found = await engine.mget(T, ["c", "missing", "a", "b"])
    assert [(s.id, s.source["id"]) for s in found] == [("c", "c"), ("a", "a"), ("b", "b")]
    assert await engine.mget(T, []) == []


DOCS: dict[str, dict[str, object]] = {
    "d1": {"n": 1, "s": "apple", "tags": ["red", "fruit"], "o": {"k": "x"}, "flag": True},
    "d2": {"n": 2, "s": "Banana", "tags": ["yellow", "fruit"], "o": {"k": "y"}, "flag": False},
    "d3": {"n": 3.5, "s": "cherry", "tags": "red", "o": {"k": None}, "nums": [10, 20]},
    "d4": {"n": "4", "s": "date", "tags": [], "o": "flat", "nums": [5, 30]},
    "d5": {"s": None, "o": {"k": {"nested": "red"}}},
}


@pytest.fixture
async def docs(engine: Engine) -> Engine:
    for id, source in DOCS.items():
        await engine.create(T, id, source, durable=False)
    return engine


FILTERS: list[tuple[Filter, set[str]]] = [
    (MATCH_ALL, {"d1", "d2", "d3", "d4", "d5"}),
    (Eq("s", "apple"), {"d1"}),
    (Eq("n", 1), {"d1"}),
    (Eq("n", 1.0), {"d1"}),
    (Eq("n", 3.5), {"d3"}),
    (Eq("n", 4), set()),  # "4" is a string
    (Eq("n", "4"), {"d4"}),
    (Eq("flag", True), {"d1"}),
    (Eq("flag", False), {"d2"}),
    (Eq("n", True), set()),  # 1 is not true
    (Eq("tags", "red"), {"d1", "d3"}),  # any array element, or the scalar
    (Eq("tags", "fruit"), {"d1", "d2"}),
    (Eq("nums", 20), {"d3"}),
    (Eq("o.k", "x"), {"d1"}),
    (Eq("o.k", "red"), set()),  # an object's member is not an element
    (Eq("o.k", None), {"d3", "d4"}),  # null or missing; d5's o.k is an object
    (Eq("s", None), {"d5"}),
    (In("s", ("apple", "date", "nope")), {"d1", "d4"}),
    (In("tags", ("yellow", "red")), {"d1", "d2", "d3"}),
    (In("n", (2, "4")), {"d2", "d4"}),
    (In("s", ()), set()),
    (Exists("n"), {"d1", "d2", "d3", "d4"}),
    (Exists("o.k"), {"d1", "d2", "d5"}),  # null is not there
    (Exists("s"), {"d1", "d2", "d3", "d4"}),
    (Exists("nums"), {"d3", "d4"}),
    (Range("n", gt=1), {"d2", "d3"}),  # numbers only: "4" is a string
    (Range("n", gte=1, lt=3.5), {"d1", "d2"}),
    (Range("n", lte=3.5, gt=2), {"d3"}),
    (Range("nums", gt=25), {"d4"}),
    (Range("nums", gte=6, lte=9), set()),  # no single element in range
    (Range("s", gte="b", lt="d"), {"d3"}),  # code point order: "Banana" < "b"
    (Range("s", gte="B"), {"d1", "d2", "d3", "d4"}),
    (Ids(("d2", "d5", "zz")), {"d2", "d5"}),
    (Ids(()), set()),
    (Prefix("s", "ch"), {"d3"}),
    (Prefix("s", "b"), set()),
    (Prefix("tags", "yel"), {"d2"}),
    (Prefix("s", ""), {"d1", "d2", "d3", "d4"}),
    (Regexp("s", "an+a"), {"d2"}),  # unanchored search
    (Regexp("s", "^b"), set()),
    (Regexp("s", "^b", case_insensitive=True), {"d2"}),
    (Regexp("s", "^(apple|date)$"), {"d1", "d4"}),
    (Regexp("tags", "^yel"), {"d2"}),
    (And((Eq("tags", "red"), Range("n", lt=2))), {"d1"}),
    (And(()), {"d1", "d2", "d3", "d4", "d5"}),
    (Or((Eq("s", "apple"), Eq("s", "date"))), {"d1", "d4"}),
    (Or(()), set()),
    (Not(Eq("tags", "red")), {"d2", "d4", "d5"}),
    (Not(Exists("n")), {"d5"}),
    (Not(Range("n", gt=1)), {"d1", "d4", "d5"}),
    (Not(Or((Eq("s", "apple"), Not(Exists("nums"))))), {"d3", "d4"}),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[repr(f) for f, _ in FILTERS])
async def test_filters(docs: Engine, query: Filter, expected: set[str]) -> None:
    page = await docs.search(T, query, limit=100)
    assert {hit.id for hit in page.hits} == expected
    assert page.total == len(expected)
    assert await docs.count(T, query) == len(expected)
    assert all(hit == Stored(hit.id, DOCS[hit.id], 1) for hit in page.hits)


async def test_filters_on_unique_paths(engine: Engine) -> None:
    await engine.create(U, "a", {"name": "ann", "emails": ["a@x", "b@x"], "n": 1}, durable=False)
    await engine.create(U, "b", {"name": "bob", "emails": "c@x", "n": 2}, durable=False)
    await engine.create(U, "c", {"n": 1.0}, durable=False)

    async def ids(query: Filter) -> set[str]:
        return {hit.id for hit in (await engine.search(U, query, limit=100)).hits}

    assert await ids(Eq("name", "ann")) == {"a"}
    assert await ids(Eq("emails", "b@x")) == {"a"}
    assert await ids(In("emails", ("c@x", "a@x"))) == {"a", "b"}
    assert await ids(Eq("name", None)) == {"c"}
    assert await ids(In("name", ("bob", None))) == {"b", "c"}
    assert await ids(Not(Eq("name", "ann"))) == {"b", "c"}
    assert await ids(Prefix("emails", "c")) == {"b"}


async def test_sort_offset_limit_total(docs: Engine) -> None:
    async def ids(sort: SortSpec = (), offset: int = 0, limit: int = 10) -> list[str]:
        page = await docs.search(T, Exists("s"), sort=sort, offset=offset, limit=limit)
        assert page.total == 4
        return [hit.id for hit in page.hits]

    assert await ids() == ["d1", "d2", "d3", "d4"]  # _id ascending by default
    assert await ids(sort=[("s", 1)]) == ["d2", "d1", "d3", "d4"]
    assert await ids(sort=[("s", -1)]) == ["d4", "d3", "d1", "d2"]
    assert await ids(sort=[("_id", -1)]) == ["d4", "d3", "d2", "d1"]
    assert await ids(sort=[("o.k", 1)], limit=2) == ["d3", "d4"]  # null/missing first, then by id
    assert await ids(sort=[("s", 1)], offset=1, limit=2) == ["d1", "d3"]
    assert await ids(sort=[("s", 1)], offset=3, limit=10) == ["d4"]
    assert await ids(offset=10) == []
    assert await ids(limit=0) == []


async def test_sort_numbers_and_tiebreak(engine: Engine) -> None:
    for id, n in [("e", 10), ("b", 2), ("d", 2), ("a", 30), ("c", 2.5)]:
        await engine.create(T, id, {"o": {"n": n}}, durable=False)
    page = await engine.search(T, MATCH_ALL, sort=[("o.n", 1)])
    assert [hit.id for hit in page.hits] == ["b", "d", "c", "e", "a"]
    page = await engine.search(T, MATCH_ALL, sort=[("o.n", -1)], limit=3)
    assert ([hit.id for hit in page.hits], page.total) == (["a", "e", "c"], 5)


async def test_delete_matching(docs: Engine) -> None:
    assert await docs.delete_matching(T, Eq("tags", "red"), durable=True) == 2
    assert await docs.delete_matching(T, Eq("tags", "red"), durable=True) == 0
    assert {hit.id for hit in (await docs.search(T, MATCH_ALL)).hits} == {"d2", "d4", "d5"}
    assert await docs.delete_matching(T, MATCH_ALL, durable=False) == 3
    assert await docs.count(T, MATCH_ALL) == 0


async def test_durable_and_not_both_read_back(engine: Engine) -> None:
    for i in range(10):
        stored = await engine.create(T, f"id{i}", {"i": i}, durable=i % 2 == 0)
        assert await engine.get(T, stored.id) == stored  # read-your-writes


async def test_concurrent_upserts_of_one_new_id(engine: Engine) -> None:
    results = await asyncio.gather(
        *(engine.upsert(T, "one", {f"k{i}": i}, {"first": i}, durable=i % 2 == 0) for i in range(64))
    )
    assert sum(created for _, created in results) == 1
    assert sorted(stored.version for stored, _ in results) == list(range(1, 65))
    assert await engine.count(T, MATCH_ALL) == 1
    final = await engine.get(T, "one")
    assert final is not None
    assert final.version == 64
    assert {key for key in final.source if key.startswith("k")} == {f"k{i}" for i in range(64)}


async def test_concurrent_creates_sharing_a_unique_value(engine: Engine) -> None:
    results = await asyncio.gather(
        *(engine.create(U, f"u{i}", {"emails": [f"own{i}@x", "same@x"]}, durable=True) for i in range(64)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Stored)]
    losers = [r for r in results if isinstance(r, DuplicateKey)]
    assert (len(winners), len(losers)) == (1, 63)
    assert all(e.path == "emails" and e.value == "same@x" and e.holder == winners[0].id for e in losers)
    assert await engine.count(U, MATCH_ALL) == 1


async def test_concurrent_updates_of_different_paths(engine: Engine) -> None:
    await engine.create(T, "doc", {"fields": {}}, durable=False)
    results = await asyncio.gather(
        *(engine.update(T, "doc", {f"fields.f{i}": i}, durable=False) for i in range(64))
    )
    assert all(r is not None for r in results)
    final = await engine.get(T, "doc")
    assert final == Stored("doc", {"fields": {f"f{i}": i for i in range(64)}}, 65)
