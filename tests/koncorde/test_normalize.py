"""Canonical forms: equivalent filters share a room, different ones do not; limits."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from typing import Any

import pytest

from kserver.koncorde import Koncorde, KoncordeError
from kserver.koncorde.conditions import Equals, Exists, Lit, Nothing, Range, dnf_key
from kserver.koncorde.normalize import MAX_CONJUNCTIONS, room_id, simplify, to_dnf
from kserver.koncorde.parse import parse

A = {"equals": {"a": 1}}
B = {"exists": "b"}
C = {"range": {"c": {"gt": 0}}}


def room(filters: Any, index: str = "i", collection: str = "c") -> str:
    return Koncorde().normalize(index, collection, filters).room_id


EQUIVALENT: list[tuple[Any, Any]] = [
    ({"and": [A, B]}, {"and": [B, A]}),
    ({"or": [A, B, C]}, {"or": [C, {"or": [B, A]}]}),
    ({"not": {"not": A}}, A),
    ({"not": {"and": [A, B]}}, {"or": [{"not": A}, {"not": B}]}),
    ({"not": {"or": [A, B]}}, {"and": [{"not": A}, {"not": B}]}),
    ({"missing": "b"}, {"not": B}),
    ({"in": {"a": [1, 2]}}, {"or": [{"equals": {"a": 2}}, {"equals": {"a": 1}}]}),
    ({"in": {"a": [1, 1]}}, {"equals": {"a": 1}}),
    ({"ids": {"values": ["x"]}}, {"equals": {"_id": "x"}}),
    ({"equals": {"a": 1.0}}, A),
    ({"and": [A, A]}, A),
    ({"or": [A, {"and": [A, B]}]}, A),
    ({"or": [{"and": [A, B]}, {"and": [A, {"not": B}]}]}, A),
    ({"and": [A, {"exists": "a"}]}, A),
    ({"and": [A, {"not": {"equals": {"a": 2}}}]}, A),
    ({"and": [A, {"range": {"a": {"gte": 0}}}]}, A),
    ({"and": [{"exists": "c"}, C]}, C),
    ({"and": [{"missing": "c"}, {"not": C}]}, {"missing": "c"}),
    ({"and": [A, {"not": A}]}, {"nothing": True}),
    ({"and": [A, {"equals": {"a": 2}}]}, {"nothing": True}),
    ({"and": [A, {"missing": "a"}]}, {"nothing": True}),
    ({"and": [A, {"range": {"a": {"gt": 5}}}]}, {"nothing": True}),
    ({"and": [{"equals": {"a": "x"}}, {"range": {"a": {"gt": 5}}}]}, {"nothing": True}),
    ({"and": [{"missing": "c"}, C]}, {"nothing": True}),
    ({"or": [A, {"nothing": True}]}, A),
    ({"not": {"nothing": True}}, {}),
    ({"or": [B, {"not": B}]}, {}),
    ({"bool": {"must": [A], "should": [B]}}, {"and": [A, B]}),
    ({"bool": {"must_not": [A, B]}}, {"and": [{"not": A}, {"not": B}]}),
    ({"bool": {"should_not": [A, B]}}, {"or": [{"not": A}, {"not": B}]}),
    ({"regexp": {"a": {"value": "x", "flags": "im"}}}, {"regexp": {"a": {"value": "x", "flags": "mi"}}}),
    ({"geoDistance": {"p": [1, 2], "distance": "1km"}}, {"geoDistance": {"p": "1,2", "distance": 1000}}),
    (
        {"and": [{"or": [A, B]}, {"or": [C, {"exists": "d"}]}]},
        {
            "or": [
                {"and": [A, C]},
                {"and": [A, {"exists": "d"}]},
                {"and": [B, C]},
                {"and": [B, {"exists": "d"}]},
            ]
        },
    ),
]


@pytest.mark.parametrize(("left", "right"), EQUIVALENT)
def test_equivalent_filters_share_a_room(left: Any, right: Any) -> None:
    assert room(left) == room(right)


DIFFERENT: list[tuple[Any, Any]] = [
    (A, {"equals": {"a": True}}),
    (A, {"equals": {"a": "1"}}),
    (A, B),
    ({"range": {"a": {"gt": 1}}}, {"range": {"a": {"gte": 1}}}),
    ({"regexp": {"a": "x"}}, {"regexp": {"a": {"value": "x", "flags": "i"}}}),
    ({"and": [A, B]}, {"or": [A, B]}),
    ({"exists": 'a["1"]'}, {"exists": "a[1]"}),
    ({}, {"nothing": True}),
]


@pytest.mark.parametrize(("left", "right"), DIFFERENT)
def test_different_filters_get_different_rooms(left: Any, right: Any) -> None:
    assert room(left) != room(right)


def test_room_depends_on_index_and_collection() -> None:
    assert len({room(A, "i", "c"), room(A, "i", "d"), room(A, "j", "c")}) == 3


def test_room_id_is_hex_sha256_and_seeded() -> None:
    rid = room(A)
    assert len(rid) == 64
    assert int(rid, 16) >= 0
    other_seed = Koncorde(seed=b"x" * 32).normalize("i", "c", A).room_id
    assert other_seed != rid


def test_room_id_is_stable_across_processes() -> None:
    code = (
        "from kserver.koncorde import Koncorde;"
        "print(Koncorde().normalize('i', 'c', {'and': [{'exists': 'b'}, {'equals': {'a': 1}}]}).room_id)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == room({"and": [A, B]})


def test_room_id_is_the_hmac_of_the_canonical_form() -> None:
    dnf = to_dnf(parse(A), 100)
    assert dnf_key(dnf) == '[[[false,{"equals":{"a":1}}]]]'
    payload = b'{"filter":[[[false,{"equals":{"a":1}}]]],"index":"i/c"}'
    expected = hmac.new(b"s" * 32, payload, hashlib.sha256).hexdigest()
    assert room_id(b"s" * 32, dnf, "i", "c") == expected


def test_default_seed_room_ids_never_change() -> None:
    """Rooms outlive restarts and upgrades: a change here breaks every client's stored room id."""
    assert room(A) == "c8b980793faffaf699fd2a935feee934755cfa6bdb7c6a60e7eaa9b59747e2e9"


def test_max_conditions_counts_leaves_in_and_ids_values() -> None:
    small = Koncorde(max_conditions=3)
    small.validate({"in": {"a": [1, 2, 3]}})
    with pytest.raises(KoncordeError, match=r"conditions: 4, max: 3") as caught:
        small.validate({"in": {"a": [1, 2, 3, 4]}})
    assert caught.value.kind == "dsl_error"
    with pytest.raises(KoncordeError, match="Filter too complex"):
        small.validate({"and": [A, B, C, {"ids": {"values": ["x"]}}]})
    Koncorde(max_conditions=0).validate({"in": {"a": list(range(500))}})


def test_default_limit_is_100() -> None:
    engine = Koncorde()
    engine.validate({"in": {"a": list(range(100))}})
    with pytest.raises(KoncordeError):
        engine.validate({"in": {"a": list(range(101))}})


def test_expansion_is_bounded() -> None:
    product = {"and": [{"or": [{"equals": {f"f{i}": 1}}, {"equals": {f"g{i}": 1}}]} for i in range(13)]}
    assert MAX_CONJUNCTIONS < 2**13
    with pytest.raises(KoncordeError, match="normalized form exceeds"):
        Koncorde(max_conditions=0).validate(product)


def test_select_queries_are_normalized() -> None:
    left = {"select": {"field": "t", "index": 0, "query": {"and": [A, B]}}}
    right = {"select": {"field": "t", "index": 0, "query": {"and": [B, A]}}}
    assert room(left) == room(right)


def test_simplify_rules() -> None:
    a1, a2 = Lit(Equals("a", 1), False), Lit(Equals("a", 2), False)
    exists_a, missing_a = Lit(Exists("a"), False), Lit(Exists("a"), True)
    in_range = Lit(Range("a", gte=0), False)
    assert simplify(frozenset({a1, a2})) is None
    assert simplify(frozenset({a1, exists_a, in_range})) == frozenset({a1})
    assert simplify(frozenset({a1, missing_a})) is None
    assert simplify(frozenset({exists_a, in_range})) == frozenset({in_range})
    assert simplify(frozenset({Lit(Nothing(), False)})) is None
    assert simplify(frozenset({Lit(Nothing(), True), exists_a})) == frozenset({exists_a})
    assert simplify(frozenset({exists_a, missing_a})) is None
