"""The Elasticsearch query subset SDK users send, translated to the storage filter AST.

Supported: ``match_all``, ``ids``, ``term``, ``terms``, ``match``, ``range``,
``exists``, ``prefix``, ``bool`` (``must``/``filter``/``should``/``must_not``,
``minimum_should_match`` 0 or 1), plus ``sort`` and ``search_after``. ``match``
is a case-insensitive match of each whitespace-separated word of the text as a
substring of the field (any word matches, ES's default ``or`` operator);
non-string values are compared for equality. Field names map to storage paths
through a ``Fields`` object (users: ``name`` → ``content.name``), so the
store evaluates everything: nothing loads a collection into Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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
    Scalar,
)
from kserver.wire.catalog import kerror

SortSpec = list[tuple[str, Literal[1, -1]]]

# Elasticsearch keywords this subset does not evaluate (invalid_query_keyword, not unknown_query_keyword).
_UNSUPPORTED = frozenset(
    str.split(
        """boosting combined_fields constant_score dis_max distance_feature function_score fuzzy
    geo_bounding_box
    geo_distance geo_polygon geo_shape has_child has_parent intervals match_bool_prefix match_none
    match_phrase match_phrase_prefix more_like_this multi_match nested parent_id percolate pinned
    query_string rank_feature regexp script script_score shape simple_query_string span_containing
    span_first span_multi span_near span_not span_or span_term span_within terms_set wildcard
    wrapper"""
    )
)


@dataclass(frozen=True, slots=True)
class Fields:
    """Maps a client field name to the storage path holding it."""

    prefix: str = "content."
    aliases: Mapping[str, str] = field(default_factory=dict)
    only: frozenset[str] | None = None
    """When set, the only field names a query may use (e.g. a credentials search: ``username``)."""

    def path(self, name: str) -> str:
        if not name or name.startswith(".") or name.endswith(".") or ".." in name or '"' in name:
            raise kerror("services.storage.invalid_search_query", name)
        if self.only is not None and name not in self.only:
            raise kerror(
                "services.storage.invalid_search_query", f"{name} (allowed: {', '.join(sorted(self.only))})"
            )
        return self.aliases.get(name, self.prefix + name)


def to_filter(query: Any, fields: Fields) -> Filter:
    """Translate an ES ``query`` object; ``None``/``{}`` match everything.

    Raises services.storage.unknown_query_keyword (not ES), invalid_query_keyword
    (ES but not supported), invalid_search_query (malformed).
    """
    if query is None:
        return MATCH_ALL
    if not isinstance(query, dict):
        raise kerror("services.storage.invalid_search_query", "query")
    if not query:
        return MATCH_ALL
    if len(query) > 1:
        raise kerror("services.storage.invalid_search_query", sorted(query)[1])
    keyword, value = next(iter(query.items()))
    translate = _KEYWORDS.get(keyword)
    if translate is None:
        if keyword in _UNSUPPORTED:
            raise kerror("services.storage.invalid_query_keyword", keyword)
        raise kerror("services.storage.unknown_query_keyword", keyword)
    return translate(value, fields)


def _single_field(keyword: str, value: Any) -> tuple[str, Any]:
    if not isinstance(value, dict) or len(value) != 1:
        raise kerror("services.storage.invalid_search_query", keyword)
    name, argument = next(iter(value.items()))
    return name, argument


def _scalar(keyword: str, value: Any) -> Scalar:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise kerror("services.storage.invalid_search_query", keyword)


def _unwrap(keyword: str, argument: Any, key: str) -> Any:
    """``{"field": v}`` or ``{"field": {key: v, boost?...}}`` → v."""
    if isinstance(argument, dict):
        if key not in argument:
            raise kerror("services.storage.invalid_search_query", f"{keyword}.{key}")
        return argument[key]
    return argument


def _match_all(value: Any, fields: Fields) -> Filter:
    if not isinstance(value, dict):
        raise kerror("services.storage.invalid_search_query", "match_all")
    return MATCH_ALL


def _ids(value: Any, fields: Fields) -> Filter:
    values = value.get("values") if isinstance(value, dict) else None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise kerror("services.storage.invalid_search_query", "ids.values")
    return Ids(tuple(values))


def _term(value: Any, fields: Fields) -> Filter:
    name, argument = _single_field("term", value)
    scalar = _scalar("term", _unwrap("term", argument, "value"))
    if name == "_id":
        return Ids((str(scalar),))
    return Eq(fields.path(name), scalar)


def _terms(value: Any, fields: Fields) -> Filter:
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != "boost"}
    name, argument = _single_field("terms", value)
    if not isinstance(argument, list):
        raise kerror("services.storage.invalid_search_query", f"terms.{name}")
    scalars = tuple(_scalar("terms", item) for item in argument)
    if name == "_id":
        return Ids(tuple(str(s) for s in scalars))
    return In(fields.path(name), scalars)


def _match(value: Any, fields: Fields) -> Filter:
    name, argument = _single_field("match", value)
    text = _scalar("match", _unwrap("match", argument, "query"))
    path = fields.path(name)
    if not isinstance(text, str):
        return Eq(path, text)
    words = text.split()
    if not words:
        return Not(MATCH_ALL)
    clauses = tuple(Regexp(path, re.escape(word), case_insensitive=True) for word in words)
    return clauses[0] if len(clauses) == 1 else Or(clauses)


def _range(value: Any, fields: Fields) -> Filter:
    name, bounds = _single_field("range", value)
    if not isinstance(bounds, dict):
        raise kerror("services.storage.invalid_search_query", f"range.{name}")
    limits: dict[str, float | str | None] = {"gt": None, "gte": None, "lt": None, "lte": None}
    for key, bound in bounds.items():
        if key in ("boost", "format", "time_zone", "relation"):
            continue
        if key not in limits:
            raise kerror("services.storage.invalid_search_query", f"range.{name}.{key}")
        if isinstance(bound, bool) or not isinstance(bound, int | float | str):
            raise kerror("services.storage.invalid_search_query", f"range.{name}.{key}")
        limits[key] = bound
    return Range(fields.path(name), **limits)


def _exists(value: Any, fields: Fields) -> Filter:
    name = value.get("field") if isinstance(value, dict) else None
    if not isinstance(name, str):
        raise kerror("services.storage.invalid_search_query", "exists.field")
    if name == "_id":
        return MATCH_ALL
    return Exists(fields.path(name))


def _prefix(value: Any, fields: Fields) -> Filter:
    name, argument = _single_field("prefix", value)
    text = _unwrap("prefix", argument, "value")
    if not isinstance(text, str):
        raise kerror("services.storage.invalid_search_query", f"prefix.{name}")
    return Prefix(fields.path(name), text)


def _clauses(keyword: str, value: Any, fields: Fields) -> tuple[Filter, ...]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, dict) for item in items):
        raise kerror("services.storage.invalid_search_query", f"bool.{keyword}")
    return tuple(to_filter(item, fields) for item in items)


def _bool(value: Any, fields: Fields) -> Filter:
    if not isinstance(value, dict):
        raise kerror("services.storage.invalid_search_query", "bool")
    required: list[Filter] = []
    should: tuple[Filter, ...] = ()
    minimum: Any = None
    for key, argument in value.items():
        if key in ("must", "filter"):
            required.extend(_clauses(key, argument, fields))
        elif key == "must_not":
            required.extend(Not(clause) for clause in _clauses(key, argument, fields))
        elif key == "should":
            should = _clauses(key, argument, fields)
        elif key == "minimum_should_match":
            minimum = argument
        elif key not in ("boost", "_name"):
            raise kerror("services.storage.invalid_search_query", f"bool.{key}")
    if minimum is not None and minimum not in (0, 1, "0", "1"):
        raise kerror("services.storage.invalid_query_keyword", "minimum_should_match")
    # ES: with must/filter present, should clauses only score, unless minimum_should_match asks otherwise.
    should_required = bool(should) and (minimum in (1, "1") or (minimum is None and not required))
    if should_required:
        required.append(should[0] if len(should) == 1 else Or(should))
    if not required:
        return MATCH_ALL
    return required[0] if len(required) == 1 else And(tuple(required))


_KEYWORDS: dict[str, Callable[[Any, Fields], Filter]] = {
    "match_all": _match_all,
    "ids": _ids,
    "term": _term,
    "terms": _terms,
    "match": _match,
    "range": _range,
    "exists": _exists,
    "prefix": _prefix,
    "bool": _bool,
}


def to_sort(sort: Any, fields: Fields) -> SortSpec:
    """ES ``sort`` (a name, ``{name: "asc"|"desc"|{order}}``, or a list of them) → storage sort."""
    if sort is None:
        return []
    items = sort if isinstance(sort, list) else [sort]
    spec: SortSpec = []
    for item in items:
        if isinstance(item, str):
            name, order = item, "asc"
        elif isinstance(item, dict) and len(item) == 1:
            name, order = next(iter(item.items()))
            if isinstance(order, dict):
                order = order.get("order", "asc")
        else:
            raise kerror("services.storage.invalid_search_query", "sort")
        if order not in ("asc", "desc") or not isinstance(name, str):
            raise kerror("services.storage.invalid_search_query", "sort")
        if name == "_score":
            continue
        spec.append(("_id" if name == "_id" else fields.path(name), 1 if order == "asc" else -1))
    return spec


def after(sort: SortSpec, values: Any) -> Filter:
    """ES ``search_after``: documents strictly after ``values`` in ``sort`` order.

    An ``_id`` sort key takes part as a tiebreak on equality only (the filter
    AST has no range on ids), so documents sharing every other sort value with
    the last hit may be skipped, as ES does without an ``_id`` sort.
    """
    if not isinstance(values, list) or len(values) != len(sort) or not sort:
        raise kerror("services.storage.invalid_search_query", "search_after")
    alternatives: list[Filter] = []
    equal: list[Filter] = []
    for (path, direction), value in zip(sort, values, strict=True):
        if path == "_id":
            break
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise kerror("services.storage.invalid_search_query", "search_after")
        beyond = Range(path, gt=value) if direction == 1 else Range(path, lt=value)
        alternatives.append(And((*equal, beyond)) if equal else beyond)
        equal.append(Eq(path, value))
    if not alternatives:
        raise kerror("services.storage.invalid_search_query", "search_after")
    return alternatives[0] if len(alternatives) == 1 else Or(tuple(alternatives))
