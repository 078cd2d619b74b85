"""``lang=koncorde`` searches: translation into the storage filter AST."""

from __future__ import annotations

from typing import Any

import pytest

from kserver.koncorde import KoncordeError, to_storage_filter
from kserver.storage.filters import MATCH_ALL, And, Eq, Exists, Filter, Ids, In, Not, Or, Range, Regexp

TRANSLATIONS: list[tuple[Any, Filter]] = [
    ({}, MATCH_ALL),
    (None, MATCH_ALL),
    ({"equals": {"content.a": "x"}}, Eq("content.a", "x")),
    ({"in": {"a": ["x", 1]}}, In("a", ("x", 1))),
    ({"ids": {"values": ["u1", "u2"]}}, Ids(("u1", "u2"))),
    ({"exists": "a.b"}, Exists("a.b")),
    ({"exists": {"field": "a"}}, Exists("a")),
    ({"exists": 'tags["s"]'}, Eq("tags", "s")),
    ({"missing": "a"}, Not(Exists("a"))),
    ({"missing": "tags[3]"}, Not(Eq("tags", 3))),
    ({"range": {"n": {"gte": 1, "lt": 5}}}, Range("n", gte=1, lt=5)),
    ({"regexp": {"a": "^x"}}, Regexp("a", "^x")),
    ({"regexp": {"a": {"value": "^x", "flags": "si"}}}, Regexp("a", "(?s)^x", case_insensitive=True)),
    ({"nothing": True}, Not(MATCH_ALL)),
    (
        {"and": [{"equals": {"a": 1}}, {"or": [{"exists": "b"}, {"not": {"equals": {"c": None}}}]}]},
        And((Eq("a", 1), Or((Exists("b"), Not(Eq("c", None)))))),
    ),
]


@pytest.mark.parametrize(("filters", "expected"), TRANSLATIONS)
def test_translation(filters: Any, expected: Filter) -> None:
    assert to_storage_filter(filters) == expected


def test_bool_is_restricted_anywhere() -> None:
    for filters in ({"bool": {"must": [{"exists": "a"}]}}, {"not": {"bool": {"should": [{"exists": "a"}]}}}):
        with pytest.raises(KoncordeError) as caught:
            to_storage_filter(filters)
        assert (caught.value.kind, caught.value.keyword) == ("restricted_keyword", "bool")


@pytest.mark.parametrize(
    "filters",
    [
        {"geoDistance": {"p": [0, 0], "distance": "1km"}},
        {"geoBoundingBox": {"p": {"top": 1, "left": 0, "bottom": 0, "right": 1}}},
        {"geoDistanceRange": {"p": [0, 0], "from": "1m", "to": "2m"}},
        {"and": [{"geoPolygon": {"p": {"points": [[0, 0], [1, 1], [0, 1]]}}}]},
    ],
)
def test_geo_is_not_supported(filters: Any) -> None:
    with pytest.raises(KoncordeError, match="geo search is not supported on stored users") as caught:
        to_storage_filter(filters)
    assert caught.value.kind == "dsl_error"


@pytest.mark.parametrize(
    ("filters", "kind", "message"),
    [
        ({"match": {"a": 1}}, "dsl_error", '"match" is not supported'),
        ({"select": {"field": "t", "index": 0, "query": {"exists": "v"}}}, "dsl_error", "not supported"),
        ({"foo": 1}, "unknown_keyword", "unknown keyword"),
        ({"and": [{"foo": 1}]}, "unknown_keyword", '"and.foo": unknown keyword'),
        ({"equals": {"a": [1]}}, "dsl_error", "must either be a string"),
        ({"and": []}, "dsl_error", "cannot be empty"),
        ({"or": [{}]}, "dsl_error", "can only contain non-empty objects"),
        ({"not": {}}, "dsl_error", "exactly 1 property"),
        ({"a": 1, "b": 2}, "dsl_error", "one keyword only"),
        ("x", "dsl_error", "must be an object"),
        ({"exists": 'tags[{"a": 1}]'}, "dsl_error", "only scalar array values"),
        ({"range": {"n": {"gt": "1"}}}, "dsl_error", "must be a number"),
    ],
)
def test_invalid_filters(filters: Any, kind: str, message: str) -> None:
    with pytest.raises(KoncordeError, match=message.replace("(", r"\(")) as caught:
        to_storage_filter(filters)
    assert caught.value.kind == kind
