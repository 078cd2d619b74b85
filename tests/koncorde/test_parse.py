"""Validation: each error case of each keyword, with Koncorde's kind, keyword and message."""

from __future__ import annotations

from typing import Any

import pytest

from kserver.koncorde.conditions import Equals, Exists, Regexp
from kserver.koncorde.errors import KoncordeError
from kserver.koncorde.parse import compile_regexp, parse, parse_field_syntax
from kserver.koncorde.tree import EVERYTHING, And, Leaf, Not, Or

ERRORS: list[tuple[Any, str, str | None, str]] = [
    ("nope", "dsl_error", None, "must be an object"),
    ({"equals": {"a": 1}, "exists": "a"}, "dsl_error", "equals,exists", "Filters must have one keyword only"),
    ({"foo": {}}, "unknown_keyword", "foo", '"foo": unknown keyword'),
    ({"and": [{"bar": 1}]}, "unknown_keyword", "bar", '"and.bar": unknown keyword'),
    ({"equals": "a"}, "dsl_error", "equals", '"equals": must be an object'),
    ({"equals": {}}, "dsl_error", "equals", "expected object to have exactly 1 property, got 0"),
    ({"equals": {"a": 1, "b": 2}}, "dsl_error", "equals", "exactly 1 property, got 2"),
    ({"equals": {"a": [1]}}, "dsl_error", "equals", '"equals.a": must either be a string, a number'),
    ({"equals": {"a": {"b": 1}}}, "dsl_error", "equals", "must either be a string"),
    ({"in": {"a": "x"}}, "dsl_error", "in", '"in.a": must be an array'),
    ({"in": {"a": []}}, "dsl_error", "in", '"in.a": cannot be empty'),
    ({"in": {"a": [[1]]}}, "dsl_error", "in", "must hold only scalar values"),
    ({"in": {"a": [1], "b": [2]}}, "dsl_error", "in", "exactly 1 property"),
    ({"ids": {"value": ["a"]}}, "dsl_error", "ids", 'the property "values" is missing'),
    ({"ids": {"values": []}}, "dsl_error", "ids", '"ids.values": cannot be empty'),
    ({"ids": {"values": [1]}}, "dsl_error", "ids", 'must hold only values of type "string"'),
    ({"ids": ["a"]}, "dsl_error", "ids", "must be an object"),
    ({"exists": ""}, "dsl_error", "exists", "cannot test empty field name"),
    ({"exists": 3}, "dsl_error", "exists", '"exists": must be an object'),
    ({"exists": {"fields": "a"}}, "dsl_error", "exists", 'the property "field" is missing'),
    ({"exists": {"field": ""}}, "dsl_error", "exists", '"exists.field": cannot be empty'),
    ({"exists": {"field": 1}}, "dsl_error", "exists", '"exists.field": must be a string'),
    ({"exists": "a[nope]"}, "dsl_error", "exists", 'contains an invalid array value ("nope")'),
    ({"missing": ""}, "dsl_error", "missing", "cannot test empty field name"),
    ({"missing": "a[']"}, "dsl_error", "missing", "contains an invalid array value"),
    ({"range": {"a": 1}}, "dsl_error", "range", '"range.a": must be an object'),
    ({"range": {"a": {}}}, "dsl_error", "range", '"range.a": must be a non-empty object'),
    ({"range": {"a": {"gt": "1"}}}, "dsl_error", "range", '"range.a.gt": must be a number'),
    ({"range": {"a": {"gt": True}}}, "dsl_error", "range", "must be a number"),
    ({"range": {"a": {"foo": 1}}}, "dsl_error", "range", '"foo" is not an allowed attribute'),
    ({"range": {"a": {"gt": 1, "gte": 2}}}, "dsl_error", "range", "only 1 lower boundary allowed"),
    ({"range": {"a": {"lt": 1, "lte": 2}}}, "dsl_error", "range", "only 1 upper boundary allowed"),
    ({"range": {"a": {"gt": 2, "lt": 2}}}, "dsl_error", "range", "lower boundary must be strictly inferior"),
    ({"regexp": {"a": 1}}, "dsl_error", "regexp", "must be either a string or a non-empty object"),
    ({"regexp": {"a": {}}}, "dsl_error", "regexp", '"regexp.a": must be a non-empty object'),
    ({"regexp": {"a": {"flags": "i"}}}, "dsl_error", "regexp", 'the property "value" is missing'),
    ({"regexp": {"a": {"value": "x", "foo": 1}}}, "dsl_error", "regexp", '"foo" is not an allowed attribute'),
    ({"regexp": {"a": {"value": 1}}}, "dsl_error", "regexp", '"regexp.a.value": must be a string'),
    ({"regexp": {"a": {"value": "x", "flags": 1}}}, "dsl_error", "regexp", "must be a string"),
    ({"regexp": {"a": "("}}, "dsl_error", "regexp", 'cannot parse regexp expression "/(/"'),
    ({"regexp": {"a": {"value": "x", "flags": "q"}}}, "dsl_error", "regexp", "Invalid flags"),
    ({"regexp": {"a": {"value": "x", "flags": "ii"}}}, "dsl_error", "regexp", "Invalid flags"),
    ({"match": {}}, "dsl_error", "match", "must be a non-empty object"),
    ({"match": [1]}, "dsl_error", "match", "must be an object"),
    ({"select": {"field": "t", "index": 0}}, "dsl_error", "select", "exactly 3 properties, got 2"),
    (
        {"select": {"field": "", "index": 0, "query": {"exists": "v"}}},
        "dsl_error",
        "select",
        "cannot be empty",
    ),
    (
        {"select": {"field": "t", "index": "0", "query": {"exists": "v"}}},
        "dsl_error",
        "select",
        "must be an integer",
    ),
    (
        {"select": {"field": "t", "index": 1.5, "query": {"exists": "v"}}},
        "dsl_error",
        "select",
        "cannot have decimals",
    ),
    (
        {"select": {"field": "t", "index": 0, "query": {}}},
        "dsl_error",
        "select",
        "must be a non-empty object",
    ),
    ({"select": {"field": "t", "index": 0, "query": {"x": 1}}}, "unknown_keyword", "x", '"select.query.x"'),
    (
        {"geoBoundingBox": {"p": {"top": "a", "left": 0, "bottom": 0, "right": 1}}},
        "dsl_error",
        "geoBoundingBox",
        "unrecognized geoBoundingBox format",
    ),
    ({"geoBoundingBox": {"p": {"top": 1}}}, "dsl_error", "geoBoundingBox", "unrecognized geo-point format"),
    (
        {"geoBoundingBox": {"p": {"topLeft": "x", "bottomRight": [0, 1]}}},
        "dsl_error",
        "geoBoundingBox",
        "unrecognized geo-point format",
    ),
    ({"geoBoundingBox": {"p": 3}}, "dsl_error", "geoBoundingBox", "unrecognized geo-point format"),
    ({"geoBoundingBox": {"p": {}, "q": {}}}, "dsl_error", "geoBoundingBox", "exactly 1 property"),
    ({"geoDistance": {"p": [0, 0]}}, "dsl_error", "geoDistance", "exactly 2 properties, got 1"),
    (
        {"geoDistance": {"p": [0, 0], "dist": "1m"}},
        "dsl_error",
        "geoDistance",
        'the property "distance" is missing',
    ),
    ({"geoDistance": {"p": [0, 0], "distance": ""}}, "dsl_error", "geoDistance", "cannot be empty"),
    ({"geoDistance": {"p": [0, 0], "distance": True}}, "dsl_error", "geoDistance", "must be a string"),
    (
        {"geoDistance": {"p": [0, 0], "distance": "3 parsecs"}},
        "dsl_error",
        "geoDistance",
        'unable to parse distance value "3 parsecs"',
    ),
    (
        {"geoDistance": {"p": "nowhere!", "distance": "1m"}},
        "dsl_error",
        "geoDistance",
        '"geoDistance.p": unrecognized point format',
    ),
    (
        {"geoDistanceRange": {"p": [0, 0], "from": "1m"}},
        "dsl_error",
        "geoDistanceRange",
        "exactly 3 properties",
    ),
    (
        {"geoDistanceRange": {"p": [0, 0], "from": "2m", "to": "1m"}},
        "dsl_error",
        "geoDistanceRange",
        "inner radius must be smaller than outer radius",
    ),
    (
        {"geoDistanceRange": {"p": [0], "from": "1m", "to": "2m"}},
        "dsl_error",
        "geoDistanceRange",
        "unrecognized point format",
    ),
    ({"geoPolygon": {"p": {"points": [[0, 0], [1, 1]]}}}, "dsl_error", "geoPolygon", "at least 3 points"),
    (
        {"geoPolygon": {"p": {"points": "x"}}},
        "dsl_error",
        "geoPolygon",
        '"geoPolygon.p.points": must be an array',
    ),
    ({"geoPolygon": {"p": {"pts": []}}}, "dsl_error", "geoPolygon", 'the property "points" is missing'),
    (
        {"geoPolygon": {"p": {"points": [[0, 0], [1, 1], "x"]}}},
        "dsl_error",
        "geoPolygon",
        'unrecognized point format ""x""',
    ),
    ({"and": {}}, "dsl_error", "and", '"and": must be an array'),
    ({"and": []}, "dsl_error", "and", '"and": cannot be empty'),
    ({"or": [{}]}, "dsl_error", "or", "can only contain non-empty objects"),
    ({"or": ["x"]}, "dsl_error", "or", "can only contain non-empty objects"),
    ({"not": []}, "dsl_error", "not", "must be an object"),
    ({"not": {}}, "dsl_error", "not", "exactly 1 property, got 0"),
    ({"bool": {}}, "dsl_error", "bool", "must be a non-empty object"),
    ({"bool": {"must": [], "foo": []}}, "dsl_error", "bool", '"foo" is not an allowed attribute'),
    ({"bool": {"should": {"exists": "a"}}}, "dsl_error", "or", "must be an array"),
    ({"bool": {"must": ["x"]}}, "dsl_error", "and", "can only contain non-empty objects"),
]


@pytest.mark.parametrize(("filters", "kind", "keyword", "message"), ERRORS)
def test_invalid_filters(filters: Any, kind: str, keyword: str | None, message: str) -> None:
    with pytest.raises(KoncordeError) as caught:
        parse(filters)
    assert caught.value.kind == kind
    assert caught.value.keyword == keyword
    assert message in str(caught.value)


def test_empty_filters_match_everything() -> None:
    assert parse({}) is EVERYTHING
    assert parse(None) is EVERYTHING


def test_in_and_ids_are_ors_of_equals_missing_is_not_exists() -> None:
    assert parse({"in": {"a": [1, 2]}}) == Or((Leaf(Equals("a", 1)), Leaf(Equals("a", 2))))
    assert parse({"ids": {"values": ["x"]}}) == Or((Leaf(Equals("_id", "x")),))
    assert parse({"missing": "a"}) == Not(Leaf(Exists("a")))


def test_bool_is_an_and_of_its_clauses() -> None:
    tree = parse(
        {"bool": {"must": [{"exists": "a"}], "must_not": [{"exists": "b"}], "should": [{"exists": "c"}]}}
    )
    assert tree == And(
        (
            Leaf(Exists("a")),
            Not(Or((Leaf(Exists("b")),))),
            Or((Leaf(Exists("c")),)),
        )
    )


def test_field_syntax() -> None:
    plain = parse_field_syntax("a.b", "exists", "exists")
    assert (plain.field, plain.array) == ("a.b", False)
    array = parse_field_syntax('a.b["x"]', "exists", "exists")
    assert (array.field, array.array, array.value) == ("a.b", True, "x")
    escaped = parse_field_syntax(r"a\[0\]", "exists", "exists")
    assert (escaped.field, escaped.array) == ("a[0]", False)


def test_regexp_flags_are_normalized_and_python_syntax_applies() -> None:
    tree = parse({"regexp": {"a": {"value": "x", "flags": "mi"}}})
    assert isinstance(tree, Leaf)
    assert isinstance(tree.cond, Regexp)
    assert tree.cond.flags == "im"
    assert parse({"regexp": {"a": {"value": "x", "flags": ""}}}) == parse({"regexp": {"a": "x"}})
    assert compile_regexp("(?<=a)b", "", "p").search("ab")  # lookbehind: refused by RE2, accepted here
    with pytest.raises(KoncordeError):
        compile_regexp("(?<name>x)", "", "p")  # JavaScript named groups are not Python syntax
