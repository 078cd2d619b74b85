"""``lang=koncorde`` searches: a Koncorde filter translated into the storage filter AST.

As Kuzzle's ``queryTranslator``: ``equals`` => Eq, ``in`` => In, ``ids`` => Ids,
``exists``/``missing`` => Exists/Not(Exists), ``range`` => Range, ``regexp`` =>
Regexp, ``and``/``or``/``not`` => And/Or/Not, ``nothing`` => Not(MatchAll), and
``bool`` is refused (``restricted_keyword``). Storage semantics apply, not
realtime ones: a condition on an array field holds when one element matches.
``exists 'f["v"]'`` becomes Eq(f, "v") (f holds "v"; a scalar f equal to "v"
matches too). Not supported on stored documents (``dsl_error``): the geo
keywords (no geo index in the storage engines), ``match`` and ``select``.
Regexp flags ``m`` and ``s`` become inline flags; ``i`` sets case_insensitive.
Field paths are given as written: the caller prefixes them.
"""

from __future__ import annotations

from typing import Any

from kserver.koncorde.conditions import Exists as ExistsCondition
from kserver.koncorde.conditions import Range as RangeCondition
from kserver.koncorde.conditions import Regexp as RegexpCondition
from kserver.koncorde.errors import KoncordeError, dsl_error
from kserver.koncorde.parse import KEYWORDS, parse
from kserver.koncorde.tree import Leaf
from kserver.koncorde.tree import Not as NotNode
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
    Range,
    Regexp,
    Scalar,
)

_UNSUPPORTED = frozenset(
    {"geoBoundingBox", "geoDistance", "geoDistanceRange", "geoPolygon", "match", "select"}
)


def to_storage_filter(filters: object) -> Filter:
    """The storage filter for a Koncorde filter; raises KoncordeError (see the module doc)."""
    if filters is None or filters == {}:
        return MATCH_ALL
    return _translate(filters, None)


def _add(path: str | None, leaf: str) -> str:
    return leaf if path is None else f"{path}.{leaf}"


def _translate(filters: object, path: str | None) -> Filter:
    if not isinstance(filters, dict) or len(filters) != 1:
        parse(filters, path=path)  # raises the validation error
        return MATCH_ALL  # an empty object: matches everything
    keyword, body = next(iter(filters.items()))
    here = _add(path, keyword)
    if keyword == "bool":
        raise KoncordeError(
            f'"{here}": the keyword "bool" is not allowed in storage searches (use and, or, not)',
            "restricted_keyword",
            "bool",
        )
    if keyword in _UNSUPPORTED:
        what = "geo search is" if keyword.startswith("geo") else f'"{keyword}" is'
        raise dsl_error(f"{what} not supported on stored users", keyword, here)
    if keyword in ("and", "or"):
        if not isinstance(body, list) or not body or not all(isinstance(i, dict) and i for i in body):
            parse(filters, path=path)  # raises the validation error
        clauses = tuple(_translate(item, here) for item in body)
        return And(clauses) if keyword == "and" else Or(clauses)
    if keyword == "not":
        if not isinstance(body, dict) or len(body) != 1:
            parse(filters, path=path)  # raises the validation error
        return Not(_translate(body, here))
    if keyword not in KEYWORDS:
        parse(filters, path=path)  # raises unknown_keyword
    return _leaf(keyword, body, parse(filters, path=path))


def _leaf(keyword: str, body: Any, node: object) -> Filter:
    if keyword == "equals":
        field, value = next(iter(body.items()))
        return Eq(field, value)
    if keyword == "in":
        field, values = next(iter(body.items()))
        return In(field, tuple[Scalar, ...](values))
    if keyword == "ids":
        return Ids(tuple(body["values"]))
    if keyword == "nothing":
        return Not(MATCH_ALL)
    negated = isinstance(node, NotNode)
    if isinstance(node, NotNode):
        node = node.child
    assert isinstance(node, Leaf)
    cond = node.cond
    result: Filter
    if isinstance(cond, ExistsCondition):
        if cond.array and not _is_scalar(cond.value):
            raise dsl_error("only scalar array values can be searched", keyword, keyword)
        result = Eq(cond.field, cond.value) if cond.array else Exists(cond.field)
    elif isinstance(cond, RangeCondition):
        result = Range(cond.field, gt=cond.gt, gte=cond.gte, lt=cond.lt, lte=cond.lte)
    elif isinstance(cond, RegexpCondition):
        inline = "".join(f for f in cond.flags if f in "ms")
        pattern = f"(?{inline}){cond.pattern}" if inline else cond.pattern
        result = Regexp(cond.field, pattern, case_insensitive="i" in cond.flags)
    else:  # pragma: no cover - every other keyword is handled above
        raise AssertionError(keyword)
    return Not(result) if negated else result


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
