"""Validation of a Koncorde filter into a tree of conditions (Koncorde's ``standardize``).

Every keyword of the Koncorde 4.x DSL is accepted; messages follow Koncorde's
(``"<path>": <message>``). Differences with Koncorde, on purpose:

- ``in`` accepts any scalar values (Kuzzle's documentation), not only strings;
- ``geoDistance``/``geoDistanceRange`` distances may be numbers (meters);
- ``regexp`` compiles with Python's ``re``, not RE2: lookarounds and
  backreferences are accepted (RE2 refuses them) and a hostile pattern can
  backtrack; JavaScript-only syntax such as ``(?<name>...)`` is refused. Flags
  must be valid JavaScript flags; ``i``, ``m`` and ``s`` are honoured, the others
  (``g``, ``u``, ``y``, ``d``, ``v``) have no effect on a test.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from kserver.koncorde.conditions import (
    Equals,
    Exists,
    GeoBoundingBox,
    GeoDistance,
    GeoDistanceRange,
    GeoPolygon,
    Match,
    Nothing,
    Range,
    Regexp,
    Select,
    is_number,
)
from kserver.koncorde.errors import KoncordeError, dsl_error
from kserver.koncorde.geo import Point, convert_distance, convert_geopoint, js_parse_float, snake_to_camel
from kserver.koncorde.normalize import to_dnf
from kserver.koncorde.tree import EVERYTHING, And, Leaf, Node, Not, Or

KEYWORDS = frozenset(
    {
        "and",
        "bool",
        "equals",
        "exists",
        "geoBoundingBox",
        "geoDistance",
        "geoDistanceRange",
        "geoPolygon",
        "ids",
        "in",
        "match",
        "missing",
        "not",
        "nothing",
        "or",
        "range",
        "regexp",
        "select",
    }
)
BOOL_ATTRIBUTES = ("must", "must_not", "should", "should_not")
_BBOX = ("top", "left", "bottom", "right")
_ARRAY_FIELD = re.compile(r"(.*?[^\\])\[(.*)\]\Z")
_JS_REGEXP_FLAGS = frozenset("dgimsuyv")
_PY_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


def parse(filters: object, max_conditions: int = 100, path: str | None = None) -> Node:
    """The validated tree of ``filters``; raises KoncordeError. ``{}`` and None match everything.

    ``max_conditions`` only bounds ``select`` sub-queries here (they are
    normalized when parsed); the caller bounds the whole filter with ``to_dnf``.
    ``path`` is where ``filters`` sits in an enclosing filter (for messages).
    """
    if filters is None:
        return EVERYTHING
    if not isinstance(filters, dict):
        raise dsl_error("must be an object", None, path)
    if not filters:
        return EVERYTHING
    return _Parser(max_conditions).node(filters, path)


def _add(path: str | None, leaf: str) -> str:
    return leaf if path is None else f"{path}.{leaf}"


def _object(
    value: object,
    keyword: str,
    path: str,
    *,
    properties: int = 0,
    non_empty: bool = False,
    required: tuple[str, ...] = (),
    allowed: tuple[str, ...] = (),
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise dsl_error("must be an object", keyword, path)
    if non_empty and not value:
        raise dsl_error("must be a non-empty object", keyword, path)
    if properties and len(value) != properties:
        noun = "properties" if properties > 1 else "property"
        raise dsl_error(
            f"expected object to have exactly {properties} {noun}, got {len(value)}", keyword, path
        )
    for name in required:
        if name not in value:
            raise dsl_error(f'the property "{name}" is missing', keyword, path)
    if allowed:
        for name in value:
            if name not in allowed:
                raise dsl_error(
                    f'"{name}" is not an allowed attribute (allowed: {",".join(allowed)})', keyword, path
                )
    return value


def _string(value: object, keyword: str, path: str) -> str:
    if not isinstance(value, str):
        raise dsl_error("must be a string", keyword, path)
    if not value:
        raise dsl_error("cannot be empty", keyword, path)
    return value


def _array(value: object, keyword: str, path: str, *, non_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise dsl_error("must be an array", keyword, path)
    if non_empty and not value:
        raise dsl_error("cannot be empty", keyword, path)
    return value


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | bool) or is_number(value)


def _distance(value: object, keyword: str, path: str) -> float:
    if not is_number(value):
        _string(value, keyword, path)
    meters = convert_distance(value)
    if meters is None:
        raise dsl_error(f'unable to parse distance value "{value}"', keyword, path)
    return meters


def parse_field_syntax(field: str, keyword: str, path: str) -> Exists:
    """``"a.b"`` tests a field; ``'a.b["x"]'`` tests that array a.b holds the JSON value "x"."""
    found = _ARRAY_FIELD.match(field)
    array = found is not None
    value: Any = None
    if found is not None:
        field, raw = found.group(1), found.group(2)
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise dsl_error(f'contains an invalid array value ("{raw}")', keyword, path) from None
    return Exists(re.sub(r"\\([\[\]])", r"\1", field), array, value)


def compile_regexp(pattern: str, flags: str, path: str) -> re.Pattern[str]:
    """``pattern`` with JavaScript ``flags`` compiled by Python's ``re``; raises KoncordeError."""
    py_flags = 0
    problem = None
    if len(set(flags)) != len(flags) or not set(flags) <= _JS_REGEXP_FLAGS:
        problem = f"Invalid flags supplied to RegExp constructor '{flags}'"
    else:
        for flag in flags:
            py_flags |= _PY_FLAGS.get(flag, 0)
        try:
            return re.compile(pattern, py_flags)
        except re.error as error:
            problem = str(error)
    raise dsl_error(f'cannot parse regexp expression "/{pattern}/{flags}" ({problem})', "regexp", path)


class _Parser:
    def __init__(self, max_conditions: int) -> None:
        self.max_conditions = max_conditions

    def node(self, filters: dict[str, Any], path: str | None) -> Node:
        if not filters:
            return EVERYTHING
        if len(filters) > 1:
            keywords = ",".join(filters)
            raise dsl_error("Invalid filter syntax. Filters must have one keyword only", keywords, path)
        keyword, body = next(iter(filters.items()))
        here = _add(path, keyword)
        if keyword not in KEYWORDS:
            raise KoncordeError(f'"{here}": unknown keyword', "unknown_keyword", keyword)
        method = getattr(self, "k_" + keyword)
        result: Node = method(body, here)
        return result

    def k_equals(self, body: object, path: str) -> Node:
        field, value = next(iter(_object(body, "equals", path, properties=1).items()))
        if not _is_scalar(value):
            raise dsl_error(
                "must either be a string, a number, a boolean, or null", "equals", _add(path, field)
            )
        return Leaf(Equals(field, value))

    def k_in(self, body: object, path: str) -> Node:
        field, values = next(iter(_object(body, "in", path, properties=1).items()))
        items = _array(values, "in", _add(path, field), non_empty=True)
        if not all(_is_scalar(v) for v in items):
            raise dsl_error(
                "must hold only scalar values (string, number, boolean or null)", "in", _add(path, field)
            )
        return Or(tuple(Leaf(Equals(field, v)) for v in items))

    def k_ids(self, body: object, path: str) -> Node:
        ids = _object(body, "ids", path, properties=1, required=("values",))
        values = _array(ids["values"], "ids", _add(path, "values"), non_empty=True)
        if not all(isinstance(v, str) for v in values):
            raise dsl_error('must hold only values of type "string"', "ids", _add(path, "values"))
        return Or(tuple(Leaf(Equals("_id", v)) for v in values))

    def _exists(self, body: object, path: str, keyword: str) -> Exists:
        if isinstance(body, str):
            if not body:
                raise dsl_error("cannot test empty field name", keyword, path)
            return parse_field_syntax(body, keyword, path)
        legacy = _object(body, keyword, path, properties=1, required=("field",))
        field_path = _add(path, "field")
        return parse_field_syntax(_string(legacy["field"], keyword, field_path), keyword, field_path)

    def k_exists(self, body: object, path: str) -> Node:
        return Leaf(self._exists(body, path, "exists"))

    def k_missing(self, body: object, path: str) -> Node:
        return Not(Leaf(self._exists(body, path, "missing")))

    def k_nothing(self, body: object, path: str) -> Node:
        return Leaf(Nothing())

    def k_range(self, body: object, path: str) -> Node:
        field, bounds = next(iter(_object(body, "range", path, properties=1).items()))
        field_path = _add(path, field)
        bounds = _object(bounds, "range", field_path, allowed=("gt", "gte", "lt", "lte"), non_empty=True)
        low: float | None = None
        high: float | None = None
        for key, value in bounds.items():
            if not is_number(value):
                raise dsl_error("must be a number", "range", _add(field_path, key))
            if key in ("lt", "lte"):
                if high is not None:
                    raise dsl_error("only 1 upper boundary allowed", "range", field_path)
                high = value
            else:
                if low is not None:
                    raise dsl_error("only 1 lower boundary allowed", "range", field_path)
                low = value
        if low is not None and high is not None and high <= low:
            raise dsl_error("lower boundary must be strictly inferior to the upper one", "range", field_path)
        return Leaf(Range(field, bounds.get("gt"), bounds.get("gte"), bounds.get("lt"), bounds.get("lte")))

    def k_regexp(self, body: object, path: str) -> Node:
        field, spec = next(iter(_object(body, "regexp", path, properties=1).items()))
        field_path = _add(path, field)
        if isinstance(spec, str):
            pattern, flags = spec, ""
        elif isinstance(spec, dict):
            spec = _object(
                spec, "regexp", field_path, allowed=("flags", "value"), non_empty=True, required=("value",)
            )
            if not isinstance(spec["value"], str):
                raise dsl_error("must be a string", "regexp", _add(field_path, "value"))
            pattern, flags = spec["value"], ""
            if spec.get("flags"):
                flags = _string(spec["flags"], "regexp", _add(field_path, "flags"))
        else:
            raise dsl_error("must be either a string or a non-empty object", "regexp", field_path)
        compiled = compile_regexp(pattern, flags, field_path)
        return Leaf(Regexp(field, pattern, "".join(sorted(flags)), compiled))

    def k_match(self, body: object, path: str) -> Node:
        return Leaf(Match(_object(body, "match", path, non_empty=True)))

    def k_select(self, body: object, path: str) -> Node:
        select = _object(body, "select", path, properties=3)
        field = _string(select.get("field"), "select", _add(path, "field"))
        index = select.get("index")
        if not is_number(index):
            raise dsl_error("must be an integer", "select", _add(path, "index"))
        if int(index) != index:
            raise dsl_error("cannot have decimals, must be an integer", "select", _add(path, "index"))
        query_path = _add(path, "query")
        query = _object(select.get("query"), "select", query_path, non_empty=True)
        dnf = to_dnf(self.node(query, query_path), self.max_conditions)
        return Leaf(Select(field, int(index), dnf))

    def k_geoBoundingBox(self, body: object, path: str) -> Node:
        field, raw = next(iter(_object(body, "geoBoundingBox", path, properties=1).items()))
        field_path = _add(path, field)
        box = snake_to_camel(raw) if isinstance(raw, dict) else {}
        sides: dict[str, float | None] = {}
        if all(isinstance(box.get(k), str) or is_number(box.get(k)) for k in _BBOX):
            sides = {k: js_parse_float(box[k]) for k in _BBOX}
            if any(v is None for v in sides.values()):
                shown = orjson.dumps(box).decode()
                raise dsl_error(f"unrecognized geoBoundingBox format: {shown}", "geoBoundingBox", field_path)
        elif box.get("topLeft") and box.get("bottomRight"):
            top_left = convert_geopoint(box["topLeft"])
            bottom_right = convert_geopoint(box["bottomRight"])
            if top_left is not None and bottom_right is not None:
                sides = {
                    "top": top_left.lat,
                    "left": top_left.lon,
                    "bottom": bottom_right.lat,
                    "right": bottom_right.lon,
                }
        top, left, bottom, right = (sides.get(k) for k in _BBOX)
        if top is None or left is None or bottom is None or right is None:
            raise dsl_error("unrecognized geo-point format", "geoBoundingBox", field_path)
        return Leaf(GeoBoundingBox(field, top, left, bottom, right))

    def _point(
        self, spec: dict[str, Any], reserved: tuple[str, ...], keyword: str, path: str
    ) -> tuple[str, Point]:
        field = next(k for k in spec if k not in reserved)
        point = convert_geopoint(spec[field])
        if point is None:
            raise dsl_error("unrecognized point format", keyword, _add(path, field))
        return field, point

    def k_geoDistance(self, body: object, path: str) -> Node:
        spec = _object(body, "geoDistance", path, properties=2, required=("distance",))
        distance = _distance(spec["distance"], "geoDistance", _add(path, "distance"))
        field, point = self._point(spec, ("distance",), "geoDistance", path)
        return Leaf(GeoDistance(field, point, distance))

    def k_geoDistanceRange(self, body: object, path: str) -> Node:
        keyword = "geoDistanceRange"
        spec = _object(body, keyword, path, properties=3, required=("from", "to"))
        inner = _distance(spec["from"], keyword, _add(path, "from"))
        outer = _distance(spec["to"], keyword, _add(path, "to"))
        if inner >= outer:
            raise dsl_error("inner radius must be smaller than outer radius", keyword, path)
        field, point = self._point(spec, ("from", "to"), keyword, path)
        return Leaf(GeoDistanceRange(field, point, inner, outer))

    def k_geoPolygon(self, body: object, path: str) -> Node:
        field, raw = next(iter(_object(body, "geoPolygon", path, properties=1).items()))
        field_path = _add(path, field)
        polygon = _object(raw, "geoPolygon", field_path, properties=1, required=("points",))
        points_path = _add(field_path, "points")
        raw_points = _array(polygon["points"], "geoPolygon", points_path)
        if len(raw_points) < 3:
            raise dsl_error("at least 3 points are required to build a polygon", "geoPolygon", points_path)
        points = []
        for raw_point in raw_points:
            point = convert_geopoint(raw_point)
            if point is None:
                shown = orjson.dumps(raw_point).decode()
                raise dsl_error(f'unrecognized point format "{shown}"', "geoPolygon", points_path)
            points.append(point)
        return Leaf(GeoPolygon(field, tuple(points)))

    def _operands(self, body: object, keyword: str, path: str) -> tuple[Node, ...]:
        items = _array(body, keyword, path, non_empty=True)
        if not all(isinstance(item, dict) and item for item in items):
            raise dsl_error("can only contain non-empty objects", keyword, path)
        return tuple(self.node(item, path) for item in items)

    def k_and(self, body: object, path: str) -> Node:
        return And(self._operands(body, "and", path))

    def k_or(self, body: object, path: str) -> Node:
        return Or(self._operands(body, "or", path))

    def k_not(self, body: object, path: str) -> Node:
        return Not(self.node(_object(body, "not", path, properties=1), path))

    def k_bool(self, body: object, path: str) -> Node:
        spec = _object(body, "bool", path, allowed=BOOL_ATTRIBUTES, non_empty=True)
        must = spec.get("must")
        clauses: list[Any] = list(must) if isinstance(must, list) else ([must] if must else [])
        if spec.get("must_not"):
            clauses.append({"not": {"or": spec["must_not"]}})
        if spec.get("should"):
            clauses.append({"or": spec["should"]})
        if spec.get("should_not"):
            clauses.append({"not": {"and": spec["should_not"]}})
        return self.k_and(clauses, path)
