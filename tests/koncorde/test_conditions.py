"""Every keyword on matching and non-matching documents (index and tree must agree)."""

from __future__ import annotations

from typing import Any

import pytest

from kserver.koncorde.conditions import (
    Equals,
    Exists,
    Lit,
    Match,
    Nothing,
    Range,
    eq_key,
    evaluate_dnf,
    match_any,
)
from tests.koncorde.conftest import matches

Case = tuple[dict[str, Any], dict[str, Any], bool]

CASES: list[Case] = [
    # equals: strict, typed, dotted paths, no array-element matching
    ({"equals": {"a": "x"}}, {"a": "x"}, True),
    ({"equals": {"a": "x"}}, {"a": "y"}, False),
    ({"equals": {"a": "x"}}, {}, False),
    ({"equals": {"a": 1}}, {"a": 1.0}, True),
    ({"equals": {"a": 1}}, {"a": True}, False),
    ({"equals": {"a": True}}, {"a": 1}, False),
    ({"equals": {"a": True}}, {"a": True}, True),
    ({"equals": {"a": None}}, {"a": None}, True),
    ({"equals": {"a": None}}, {}, False),
    ({"equals": {"a": "1"}}, {"a": 1}, False),
    ({"equals": {"a": "x"}}, {"a": ["x"]}, False),
    ({"equals": {"a.b.c": 3}}, {"a": {"b": {"c": 3}}}, True),
    ({"equals": {"a.b": 3}}, {"a": [{"b": 3}]}, False),
    # in
    ({"in": {"a": ["x", "y"]}}, {"a": "y"}, True),
    ({"in": {"a": ["x", "y"]}}, {"a": "z"}, False),
    ({"in": {"a": [1, "x"]}}, {"a": 1}, True),
    ({"in": {"a": [1]}}, {"a": True}, False),
    # ids: the given id, not a document field
    ({"ids": {"values": ["a", "b"]}}, {}, False),
    # exists / missing, including array-value tests
    ({"exists": "a.b"}, {"a": {"b": None}}, True),
    ({"exists": "a.b"}, {"a": {}}, False),
    ({"exists": {"field": "a"}}, {"a": 0}, True),
    ({"exists": 'tags["s"]'}, {"tags": ["s", "t"]}, True),
    ({"exists": 'tags["s"]'}, {"tags": ["t"]}, False),
    ({"exists": 'tags["s"]'}, {"tags": "s"}, False),
    ({"exists": "tags[3]"}, {"tags": [1, 3.0]}, True),
    ({"exists": "tags[3]"}, {"tags": ["3"]}, False),
    ({"exists": "tags[true]"}, {"tags": [True]}, True),
    ({"exists": "tags[true]"}, {"tags": [1]}, False),
    ({"exists": "tags[null]"}, {"tags": [None]}, True),
    ({"exists": "tags[null]"}, {"tags": []}, False),
    ({"exists": 'tags[{"a":1}]'}, {"tags": [{"a": 1}]}, False),
    ({"exists": r"we\[ird[1]"}, {"we[ird": [1]}, True),
    ({"missing": "a"}, {"b": 1}, True),
    ({"missing": "a"}, {"a": None}, False),
    ({"missing": 'tags["s"]'}, {"tags": ["t"]}, True),
    ({"missing": 'tags["s"]'}, {"tags": ["s"]}, False),
    ({"missing": 'tags["s"]'}, {}, True),
    # range: numbers only, bounds
    ({"range": {"a": {"gte": 1, "lt": 3}}}, {"a": 1}, True),
    ({"range": {"a": {"gte": 1, "lt": 3}}}, {"a": 3}, False),
    ({"range": {"a": {"gt": 1, "lte": 3}}}, {"a": 1}, False),
    ({"range": {"a": {"gt": 1, "lte": 3}}}, {"a": 3}, True),
    ({"range": {"a": {"gt": 1}}}, {"a": 1e300}, True),
    ({"range": {"a": {"lt": 0}}}, {"a": -0.5}, True),
    ({"range": {"a": {"gte": 1}}}, {"a": "2"}, False),
    ({"range": {"a": {"gte": 0}}}, {"a": True}, False),
    ({"range": {"a": {"gte": 0}}}, {}, False),
    ({"not": {"range": {"a": {"gte": 0}}}}, {"a": "x"}, True),
    ({"not": {"range": {"a": {"gte": 0}}}}, {"a": 5}, False),
    # regexp: search, flags, strings only
    ({"regexp": {"a": "^fo+$"}}, {"a": "foo"}, True),
    ({"regexp": {"a": "^fo+$"}}, {"a": "FOO"}, False),
    ({"regexp": {"a": {"value": "^fo+$", "flags": "i"}}}, {"a": "FOO"}, True),
    ({"regexp": {"a": "o"}}, {"a": "foo"}, True),
    ({"regexp": {"a": "1"}}, {"a": 1}, False),
    ({"regexp": {"a": {"value": "^b$", "flags": "m"}}}, {"a": "a\nb"}, True),
    ({"regexp": {"a": {"value": "a.b", "flags": "s"}}}, {"a": "a\nb"}, True),
    ({"regexp": {"a": "a.b"}}, {"a": "a\nb"}, False),
    # match: recursive subset
    ({"match": {"a": {"b": 1}}}, {"a": {"b": 1, "c": 2}}, True),
    ({"match": {"a": {"b": 1}}}, {"a": {"b": 2}}, False),
    ({"match": {"t": ["x", "x"]}}, {"t": ["x", "y", "x"]}, True),
    ({"match": {"t": ["x", "x"]}}, {"t": ["x", "y"]}, False),
    ({"match": {"t": [{"k": 1}]}}, {"t": [{"k": 1, "z": 0}]}, True),
    ({"match": {"a": None}}, {"a": None}, True),
    ({"match": {"a": None}}, {"a": {}}, False),
    ({"match": {"a": 1}}, {"a": True}, False),
    ({"match": {"a": [1]}}, {"a": {"0": 1}}, False),
    ({"match": {"a": {"b": 1}}}, {}, False),
    ({"and": [{"equals": {"": 1}}, {"match": {"a": 2}}]}, {"": 1, "a": 2}, True),
    ({"and": [{"not": {"equals": {"": 1}}}, {"match": {"a": 2}}]}, {"a": 2}, True),
    # select
    ({"select": {"field": "t", "index": 0, "query": {"equals": {"value": "x"}}}}, {"t": ["x", "y"]}, True),
    ({"select": {"field": "t", "index": 1, "query": {"equals": {"value": "x"}}}}, {"t": ["x", "y"]}, False),
    ({"select": {"field": "t", "index": -1, "query": {"equals": {"value": "y"}}}}, {"t": ["x", "y"]}, True),
    ({"select": {"field": "t", "index": 5, "query": {"exists": "value"}}}, {"t": ["x"]}, False),
    ({"select": {"field": "t", "index": -5, "query": {"exists": "value"}}}, {"t": ["x"]}, False),
    ({"select": {"field": "t", "index": 0, "query": {"exists": "value"}}}, {"t": "x"}, False),
    ({"select": {"field": "t", "index": 0, "query": {"equals": {"value.k": 2}}}}, {"t": [{"k": 2}]}, True),
    # nothing and everything
    ({"nothing": True}, {"a": 1}, False),
    ({"not": {"nothing": True}}, {"a": 1}, True),
    ({}, {}, True),
    # geo
    ({"geoBoundingBox": {"p": {"top": 10, "left": 0, "bottom": 0, "right": 10}}}, {"p": [5, 5]}, True),
    ({"geoBoundingBox": {"p": {"top": 10, "left": 0, "bottom": 0, "right": 10}}}, {"p": [15, 5]}, False),
    ({"geoBoundingBox": {"p": {"top": "10", "left": 0, "bottom": 0, "right": 10}}}, {"p": "5, 5"}, True),
    (
        {"geoBoundingBox": {"p": {"top_left": [10, 0], "bottom_right": "0, 10"}}},
        {"p": {"lat": 1, "lon": 1}},
        True,
    ),
    (
        {"geoBoundingBox": {"p": {"topLeft": {"lat": 10, "lon": 0}, "bottomRight": [0, 10]}}},
        {"p": [1, 11]},
        False,
    ),
    ({"geoBoundingBox": {"p": {"top": 10, "left": 0, "bottom": 0, "right": 10}}}, {"p": "garbage"}, False),
    ({"geoBoundingBox": {"p": {"top": 10, "left": 0, "bottom": 0, "right": 10}}}, {}, False),
    ({"geoDistance": {"p": [43.6, 3.9], "distance": "10km"}}, {"p": [43.61, 3.91]}, True),
    ({"geoDistance": {"p": [43.6, 3.9], "distance": "10km"}}, {"p": [44.6, 3.9]}, False),
    ({"geoDistance": {"p": "u4pruydqqvj", "distance": 100}}, {"p": {"latLon": [57.64911, 10.40744]}}, True),
    ({"geoDistanceRange": {"p": [0, 0], "from": "1km", "to": "200km"}}, {"p": [1, 0]}, True),
    ({"geoDistanceRange": {"p": [0, 0], "from": "1km", "to": "200km"}}, {"p": [0, 0]}, False),
    ({"geoDistanceRange": {"p": [0, 0], "from": "1km", "to": "200km"}}, {"p": [5, 0]}, False),
    (
        {"geoPolygon": {"p": {"points": [[0, 0], [0, 10], "10, 10", {"lat": 10, "lon": 0}]}}},
        {"p": [5, 5]},
        True,
    ),
    ({"geoPolygon": {"p": {"points": [[0, 0], [0, 10], [10, 10]]}}}, {"p": [8, 2]}, False),
    ({"not": {"geoDistance": {"p": [0, 0], "distance": "1m"}}}, {}, True),
    # operators
    ({"and": [{"equals": {"a": 1}}, {"exists": "b"}]}, {"a": 1, "b": 0}, True),
    ({"and": [{"equals": {"a": 1}}, {"exists": "b"}]}, {"a": 1}, False),
    ({"or": [{"equals": {"a": 1}}, {"exists": "b"}]}, {"b": 0}, True),
    ({"or": [{"equals": {"a": 1}}, {"exists": "b"}]}, {"a": 2}, False),
    ({"not": {"equals": {"a": 1}}}, {}, True),
    ({"not": {"equals": {"a": 1}}}, {"a": 1}, False),
    ({"bool": {"must": [{"exists": "a"}], "must_not": [{"equals": {"a": 2}}]}}, {"a": 1}, True),
    ({"bool": {"must": [{"exists": "a"}], "must_not": [{"equals": {"a": 2}}]}}, {"a": 2}, False),
    ({"bool": {"should": [{"equals": {"a": 1}}, {"equals": {"a": 2}}]}}, {"a": 2}, True),
    ({"bool": {"should": [{"equals": {"a": 1}}, {"equals": {"a": 2}}]}}, {"a": 3}, False),
    ({"bool": {"should_not": [{"exists": "a"}, {"exists": "b"}]}}, {"a": 1}, True),
    ({"bool": {"should_not": [{"exists": "a"}, {"exists": "b"}]}}, {"a": 1, "b": 1}, False),
    ({"bool": {"must": {"exists": "a"}}}, {"a": 1}, True),
]


@pytest.mark.parametrize(("filters", "document", "expected"), CASES)
def test_keyword(filters: dict[str, Any], document: dict[str, Any], expected: bool) -> None:
    assert matches(filters, document) is expected


def test_ids_test_the_given_id() -> None:
    assert matches({"ids": {"values": ["a", "b"]}}, {}, "b")
    assert not matches({"ids": {"values": ["a", "b"]}}, {"_id": "a"}, "c")
    assert matches({"equals": {"_id": "a"}}, {}, "a")


def test_eq_key_follows_strict_equality() -> None:
    assert eq_key(1) == eq_key(1.0)
    assert eq_key(True) != eq_key(1)
    assert eq_key(False) != eq_key(0)
    assert eq_key(None) != eq_key(False)
    assert eq_key([1]) == eq_key({"a": 1})  # both unhashable: never a filter value's key


def test_condition_identity_is_the_canonical_key() -> None:
    assert Equals("a", 1) == Equals("a", 1.0)
    assert hash(Equals("a", 1)) == hash(Equals("a", 1.0))
    assert Equals("a", 1) != Equals("a", True)
    assert Equals("a", 1) != Exists("a")
    assert Range("a", gt=1) != Range("a", gte=1)
    assert Equals("a", 1) != "a"


def test_match_any_sub_multisets_and_scalars() -> None:
    assert match_any([1, 2, 1], [1, 1])
    assert not match_any([1, 2], [1, 1])
    assert not match_any([1], [1, 2])
    assert match_any("x", "x")
    assert not match_any(["x"], "x")
    assert Match({"a": 1}).evaluate({"a": 1})


def test_evaluate_dnf_or_of_ands() -> None:
    a, b = Lit(Exists("a"), False), Lit(Exists("b"), True)
    assert evaluate_dnf(((a, b),), {"a": 1})
    assert not evaluate_dnf(((a, b),), {"a": 1, "b": 1})
    assert evaluate_dnf(((),), {})
    assert not evaluate_dnf((), {})
    assert not Nothing().evaluate({})
