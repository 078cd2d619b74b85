"""The leaf conditions of a filter, each a value with a canonical key and a test.

Two conditions are equal when their canonical keys are equal; the key is the
sorted-keys JSON of the standardized condition, so ``true`` and ``1`` differ
while ``1`` and ``1.0`` do not (JavaScript has one number type). Equality
follows JavaScript's strict equality on scalars: ``equals`` never matches an
array element, a boolean never equals a number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping
from typing import Any, ClassVar, NamedTuple, TypeGuard

import orjson

from kserver.koncorde.document import FlatDocument, flatten
from kserver.koncorde.geo import Point, convert_geopoint, haversine, in_polygon

Scalar = str | int | float | bool | None

UNHASHABLE: Hashable = ("<unhashable>",)
"""The equality key of lists and objects: never equal to a filter value's key."""

_TRUE_KEY: Hashable = ("<bool>", True)
_FALSE_KEY: Hashable = ("<bool>", False)


def eq_key(value: object) -> Hashable:
    """A hashable key under which two values are equal iff JavaScript's ``===`` says so."""
    kind = type(value)
    if kind is str or kind is int or kind is float or value is None:
        return value
    if kind is bool:
        return _TRUE_KEY if value else _FALSE_KEY
    return UNHASHABLE


def canonical_number(value: float) -> float:
    """Integral floats as ints so that ``1.0`` and ``1`` serialize alike."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def canonical_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return canonical_number(value)
    if isinstance(value, list):
        return [canonical_value(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical_value(v) for k, v in value.items()}
    return value


def is_number(value: object) -> TypeGuard[float]:
    """A JSON number (bools excluded, NaN excluded)."""
    if type(value) is int:
        return True
    return type(value) is float and not math.isnan(value)


class Condition:
    """A leaf test on a flat document; subclasses set ``keyword`` and implement ``evaluate``.

    ``field`` is the tested dotted path, ``""`` for conditions on the whole document.
    """

    __slots__ = ("field", "key")
    keyword: ClassVar[str]

    def __init__(self, field: str, body: object) -> None:
        self.field = field
        self.key = orjson.dumps({self.keyword: canonical_value(body)}, option=orjson.OPT_SORT_KEYS).decode()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key})"

    def evaluate(self, doc: FlatDocument) -> bool:
        raise NotImplementedError

    @property
    def needs_value(self) -> bool:
        """True if the condition can only hold when ``field`` exists in the document."""
        return self.field != ""


class Lit(NamedTuple):
    """A condition or its negation, the atom of a normalized filter."""

    cond: Condition
    negated: bool

    def holds(self, doc: FlatDocument) -> bool:
        return self.cond.evaluate(doc) is not self.negated

    @property
    def key(self) -> str:
        return f"[{'true' if self.negated else 'false'},{self.cond.key}]"


DNF = tuple[tuple[Lit, ...], ...]
"""A normalized filter: an OR of ANDs of literals; ``()`` matches nothing, ``((),)`` everything."""


def evaluate_dnf(dnf: DNF, doc: FlatDocument) -> bool:
    """Per-filter evaluation, without any index."""
    return any(all(lit.holds(doc) for lit in conj) for conj in dnf)


def dnf_key(dnf: DNF) -> str:
    """The canonical JSON of a DNF whose conjunctions and literals are already sorted."""
    return "[" + ",".join("[" + ",".join(lit.key for lit in conj) + "]" for conj in dnf) + "]"


class Equals(Condition):
    __slots__ = ("index_key", "value")
    keyword = "equals"

    def __init__(self, field: str, value: Scalar) -> None:
        super().__init__(field, {field: value})
        self.value = value
        self.index_key = eq_key(value)

    def evaluate(self, doc: FlatDocument) -> bool:
        return self.field in doc and eq_key(doc[self.field]) == self.index_key


class Exists(Condition):
    """``exists "f"``; with ``array``, ``exists 'f[<json>]'``: f is an array holding that value."""

    __slots__ = ("array", "value", "value_key")
    keyword = "exists"

    def __init__(self, field: str, array: bool = False, value: Any = None) -> None:
        super().__init__(field, {"path": field, "array": array, "value": value if array else None})
        self.array = array
        self.value = value
        self.value_key = eq_key(value)

    def evaluate(self, doc: FlatDocument) -> bool:
        if not self.array:
            return self.field in doc
        values = doc.get(self.field)
        if type(values) is not list or self.value_key is UNHASHABLE:
            return False
        key = self.value_key
        return any(eq_key(v) == key for v in values)


class Range(Condition):
    __slots__ = ("gt", "gte", "lt", "lte")
    keyword = "range"

    def __init__(
        self,
        field: str,
        gt: float | None = None,
        gte: float | None = None,
        lt: float | None = None,
        lte: float | None = None,
    ) -> None:
        bounds = {k: v for k, v in (("gt", gt), ("gte", gte), ("lt", lt), ("lte", lte)) if v is not None}
        super().__init__(field, {field: bounds})
        self.gt, self.gte, self.lt, self.lte = gt, gte, lt, lte

    def contains(self, value: float) -> bool:
        return not (
            (self.gt is not None and value <= self.gt)
            or (self.gte is not None and value < self.gte)
            or (self.lt is not None and value >= self.lt)
            or (self.lte is not None and value > self.lte)
        )

    def evaluate(self, doc: FlatDocument) -> bool:
        value = doc.get(self.field)
        return is_number(value) and self.contains(value)


class Regexp(Condition):
    """A search (not a full match) with Python's ``re`` on string values only."""

    __slots__ = ("compiled", "flags", "pattern")
    keyword = "regexp"

    def __init__(self, field: str, pattern: str, flags: str, compiled: re.Pattern[str]) -> None:
        super().__init__(field, {field: {"value": pattern, "flags": flags}})
        self.pattern, self.flags, self.compiled = pattern, flags, compiled

    def evaluate(self, doc: FlatDocument) -> bool:
        value = doc.get(self.field)
        return type(value) is str and self.compiled.search(value) is not None


class GeoCondition(Condition):
    """A geo shape: the field's value must be a valid geopoint inside the shape."""

    __slots__ = ()
    keyword = "geospatial"

    def evaluate(self, doc: FlatDocument) -> bool:
        value = doc.get(self.field)
        if not value:
            return False
        point = convert_geopoint(value)
        return point is not None and self.contains(point)

    def contains(self, point: Point) -> bool:
        raise NotImplementedError


class GeoBoundingBox(GeoCondition):
    __slots__ = ("bottom", "left", "right", "top")

    def __init__(self, field: str, top: float, left: float, bottom: float, right: float) -> None:
        box = {"top": top, "left": left, "bottom": bottom, "right": right}
        super().__init__(field, {"geoBoundingBox": {field: box}})
        self.top, self.left, self.bottom, self.right = top, left, bottom, right

    def contains(self, point: Point) -> bool:
        return self.bottom <= point.lat <= self.top and self.left <= point.lon <= self.right


class GeoDistance(GeoCondition):
    __slots__ = ("center", "distance")

    def __init__(self, field: str, center: Point, distance: float) -> None:
        body = {"lat": center.lat, "lon": center.lon, "distance": distance}
        super().__init__(field, {"geoDistance": {field: body}})
        self.center, self.distance = center, distance

    def contains(self, point: Point) -> bool:
        return haversine(self.center, point) <= self.distance


class GeoDistanceRange(GeoCondition):
    __slots__ = ("center", "inner", "outer")

    def __init__(self, field: str, center: Point, inner: float, outer: float) -> None:
        body = {"lat": center.lat, "lon": center.lon, "from": inner, "to": outer}
        super().__init__(field, {"geoDistanceRange": {field: body}})
        self.center, self.inner, self.outer = center, inner, outer

    def contains(self, point: Point) -> bool:
        return self.inner <= haversine(self.center, point) <= self.outer


class GeoPolygon(GeoCondition):
    __slots__ = ("points",)

    def __init__(self, field: str, points: tuple[Point, ...]) -> None:
        super().__init__(field, {"geoPolygon": {field: [[p.lat, p.lon] for p in points]}})
        self.points = points

    def contains(self, point: Point) -> bool:
        return in_polygon(point, self.points)


def match_any(value: Any, expected: Any) -> bool:
    """Koncorde's ``matchAny``: objects are subsets, arrays are sub-multisets, scalars are ``===``."""
    if type(expected) is dict:
        return type(value) is dict and all(k in value and match_any(value[k], v) for k, v in expected.items())
    if type(expected) is list:
        if type(value) is not list or len(value) < len(expected):
            return False
        pool = list(value)
        for wanted in expected:
            for i, candidate in enumerate(pool):
                if match_any(candidate, wanted):
                    del pool[i]
                    break
            else:
                return False
        return True
    return type(value) is not list and type(value) is not dict and eq_key(value) == eq_key(expected)


class Match(Condition):
    """``match``: the document contains ``value`` (recursive subset, on the flat view)."""

    __slots__ = ("value",)
    keyword = "match"

    def __init__(self, value: dict[str, Any]) -> None:
        super().__init__("", value)
        self.value = value

    def evaluate(self, doc: FlatDocument) -> bool:
        return match_any(doc, self.value)


class Select(Condition):
    """``select``: the array element at ``index`` (negative from the end), seen as ``{value: element}``."""

    __slots__ = ("index", "query")
    keyword = "select"

    def __init__(self, field: str, index: int, query: DNF) -> None:
        body = {"field": field, "index": index, "query": orjson.loads(dnf_key(query))}
        super().__init__(field, body)
        self.index, self.query = index, query

    def evaluate(self, doc: FlatDocument) -> bool:
        values = doc.get(self.field)
        if type(values) is not list:
            return False
        index = self.index if self.index >= 0 else len(values) + self.index
        if not 0 <= index < len(values):
            return False
        return evaluate_dnf(self.query, flatten({"value": values[index]}))


class Nothing(Condition):
    __slots__ = ()
    keyword = "nothing"

    def __init__(self) -> None:
        super().__init__("", True)

    def evaluate(self, doc: Mapping[str, Any]) -> bool:
        return False
