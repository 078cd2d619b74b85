"""The index: registration, removal, matching, and agreement with per-filter evaluation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kserver.koncorde import Koncorde, KoncordeError
from kserver.koncorde.document import flatten
from kserver.koncorde.parse import parse
from kserver.koncorde.tree import evaluate


def test_register_is_idempotent_and_remove_forgets(koncorde: Koncorde) -> None:
    room = koncorde.register("i", "c", {"equals": {"a": 1}})
    assert koncorde.register("i", "c", {"equals": {"a": 1.0}}) == room
    assert koncorde.has(room)
    assert koncorde.room_ids("i", "c") == [room]
    assert koncorde.test("i", "c", {"a": 1}) == [room]
    koncorde.remove(room)
    assert not koncorde.has(room)
    assert koncorde.get(room) is None
    assert koncorde.test("i", "c", {"a": 1}) == []
    koncorde.remove(room)  # unknown: ignored


def test_collections_are_isolated(koncorde: Koncorde) -> None:
    one = koncorde.register("i", "c1", {"exists": "a"})
    two = koncorde.register("i", "c2", {"exists": "a"})
    assert one != two
    assert koncorde.test("i", "c1", {"a": 1}) == [one]
    assert koncorde.test("i", "c2", {"a": 1}) == [two]
    assert koncorde.test("j", "c1", {"a": 1}) == []


def test_store_a_normalized_filter(koncorde: Koncorde) -> None:
    normalized = koncorde.normalize("i", "c", {"exists": "a"})
    assert not koncorde.has(normalized.room_id)
    assert koncorde.store(normalized) == normalized.room_id
    assert koncorde.get(normalized.room_id) == normalized


def test_validate_raises_or_returns_none(koncorde: Koncorde) -> None:
    koncorde.validate({"exists": "a"})
    with pytest.raises(KoncordeError):
        koncorde.validate({"exists": ""})
    with pytest.raises(ValueError, match="max_conditions"):
        Koncorde(max_conditions=-1)


def test_shared_subfilters_survive_the_removal_of_one_room(koncorde: Koncorde) -> None:
    shared = {"and": [{"equals": {"a": 1}}, {"range": {"n": {"gt": 0}}}]}
    first = koncorde.register("i", "c", shared)
    second = koncorde.register("i", "c", {"or": [shared, {"exists": "z"}]})
    everything = koncorde.register("i", "c", {})
    doc = {"a": 1, "n": 5}
    assert sorted(koncorde.test("i", "c", doc)) == sorted([first, second, everything])
    koncorde.remove(first)
    assert sorted(koncorde.test("i", "c", doc)) == sorted([second, everything])
    assert koncorde.test("i", "c", {"a": 1, "n": 0}) == [everything]
    koncorde.remove(everything)
    koncorde.remove(second)
    assert koncorde.test("i", "c", doc) == []
    assert koncorde.room_ids("i", "c") == []


def test_many_filters_register_test_remove(koncorde: Koncorde) -> None:
    rooms = {}
    for n in range(500):
        rooms[n] = koncorde.register(
            "i", "c", {"and": [{"equals": {"user": f"u{n % 50}"}}, {"range": {"age": {"gte": n // 50}}}]}
        )
    assert len(set(rooms.values())) == 500
    expected = {rooms[n] for n in range(500) if n % 50 == 7 and n // 50 <= 4}
    assert set(koncorde.test("i", "c", {"user": "u7", "age": 4})) == expected
    for n in range(500):
        if (n // 50) % 2 == 0:
            koncorde.remove(rooms[n])
    assert set(koncorde.test("i", "c", {"user": "u7", "age": 4})) == {rooms[57], rooms[157]}
    assert koncorde.test("i", "c", {"user": "u7"}) == []


def test_ten_thousand_equality_filters_visit_one_subfilter(koncorde: Koncorde) -> None:
    rooms = [koncorde.register("i", "c", {"equals": {"user": f"u{n}"}}) for n in range(10_000)]
    before = koncorde.stats.visited_subfilters
    assert koncorde.test("i", "c", {"user": "u4242", "other": 1}) == [rooms[4242]]
    assert koncorde.stats.last_visited == 1
    assert koncorde.test("i", "c", {"user": "nobody"}) == []
    assert koncorde.stats.last_visited == 0
    assert koncorde.stats.visited_subfilters - before == 1
    assert koncorde.stats.evaluated_conditions == 0
    assert koncorde.stats.tests == 2


def test_in_filters_are_indexed_too(koncorde: Koncorde) -> None:
    rooms = [koncorde.register("i", "c", {"in": {"city": [f"c{n}", f"d{n}"]}}) for n in range(2_000)]
    assert koncorde.test("i", "c", {"city": "d77"}) == [rooms[77]]
    assert koncorde.stats.last_visited == 1


def test_non_equality_conditions_are_shared(koncorde: Koncorde) -> None:
    for n in range(100):
        koncorde.register("i", "c", {"and": [{"equals": {"user": f"u{n}"}}, {"regexp": {"name": "^a"}}]})
    assert koncorde.test("i", "c", {"user": "u1", "name": "abc"}) != []
    # filed under their equality: one candidate, whose regexp (and equality) are evaluated once
    assert koncorde.stats.last_visited == 1
    assert koncorde.stats.evaluated_conditions <= 2


def test_equality_narrows_before_other_conditions(koncorde: Koncorde) -> None:
    rooms = [
        koncorde.register("i", "c", {"and": [{"equals": {"user": f"u{n}"}}, {"range": {"age": {"gte": 0}}}]})
        for n in range(10_000)
    ]
    assert koncorde.test("i", "c", {"user": "u42", "age": 3}) == [rooms[42]]
    assert koncorde.stats.last_visited == 1
    assert koncorde.test("i", "c", {"user": "u42", "age": -1}) == []
    shared = [
        koncorde.register("i", "c", {"and": [{"regexp": {"name": "^a"}}, {"range": {"age": {"gt": n}}}]})
        for n in range(50)
    ]
    before = koncorde.stats.evaluated_conditions
    assert sorted(koncorde.test("i", "c", {"name": "ab", "age": 10})) == sorted(shared[:10])
    # the shared regexp once, each distinct range once: never once per (filter, condition) pair
    assert koncorde.stats.evaluated_conditions - before <= 51


# Property: the index agrees with a per-filter evaluation of the unnormalized tree.

FIELDS = ["a", "b", "c.d"]
VALUES = st.sampled_from([0, 1, 2, 2.5, "x", "y", True, False, None])


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    field = st.sampled_from(FIELDS)
    bound = st.sampled_from([-1, 0, 1, 2, 3])
    return st.one_of(
        st.builds(lambda f, v: {"equals": {f: v}}, field, VALUES),
        st.builds(lambda f, vs: {"in": {f: vs}}, field, st.lists(VALUES, min_size=1, max_size=3)),
        st.builds(lambda f: {"exists": f}, field),
        st.builds(lambda f: {"missing": f}, field),
        st.builds(lambda f: {"exists": f + '["x"]'}, field),
        st.builds(lambda f: {"exists": f + "[1]"}, field),
        st.builds(
            lambda f, k, v: {"range": {f: {k: v}}}, field, st.sampled_from(["gt", "gte", "lt", "lte"]), bound
        ),
        st.builds(lambda f, lo: {"range": {f: {"gte": lo, "lt": lo + 2}}}, field, bound),
        st.builds(lambda f, p: {"regexp": {f: p}}, field, st.sampled_from(["^x", "y", "^[xy]$"])),
        st.builds(lambda f, v: {"match": {f: v}}, field, VALUES),
        st.just({"ids": {"values": ["id1", "id2"]}}),
        st.just({"nothing": True}),
    )


FILTERS = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"and": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"or": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
        st.builds(
            lambda must, must_not, should: {"bool": {"must": must, "must_not": must_not, "should": should}},
            st.lists(inner, min_size=1, max_size=2),
            st.lists(inner, min_size=1, max_size=2),
            st.lists(inner, min_size=1, max_size=2),
        ),
    ),
    max_leaves=8,
)

DOC_VALUES = st.one_of(VALUES, st.lists(VALUES, max_size=3))
DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "a": DOC_VALUES,
        "b": DOC_VALUES,
        "c": st.fixed_dictionaries({}, optional={"d": DOC_VALUES}),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    filters=st.lists(FILTERS, min_size=1, max_size=8),
    documents=st.lists(DOCUMENTS, min_size=1, max_size=5),
    doc_id=st.sampled_from([None, "id1", "id3"]),
)
def test_index_agrees_with_per_filter_evaluation(
    filters: list[dict[str, Any]], documents: list[dict[str, Any]], doc_id: str | None
) -> None:
    engine = Koncorde(max_conditions=0)
    registered = {}
    for filt in filters:
        try:
            registered[engine.register("i", "c", filt)] = filt
        except KoncordeError:
            continue  # too complex to expand: refused, never half-registered
    for document in documents:
        flat = flatten(document, doc_id)
        expected = {room for room, filt in registered.items() if evaluate(parse(filt), flat)}
        assert set(engine.test("i", "c", document, doc_id)) == expected
    for room in list(registered)[::2]:
        engine.remove(room)
        del registered[room]
    for document in documents:
        flat = flatten(document, doc_id)
        expected = {room for room, filt in registered.items() if evaluate(parse(filt), flat)}
        assert set(engine.test("i", "c", document, doc_id)) == expected
