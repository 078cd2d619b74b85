"""A search request's body (``query``, ``sort``, ``search_after``) and ``lang`` → filter and sort.

``lang=elasticsearch`` (default) goes through ``search.to_filter``;
``lang=koncorde`` through ``kserver.koncorde.storage.to_storage_filter``, whose
paths are then mapped like ES field names (users: under ``content.``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from kserver.koncorde.errors import KoncordeError
from kserver.koncorde.storage import to_storage_filter
from kserver.services.security.search import Fields, SortSpec, after, to_filter, to_sort
from kserver.storage.filters import (
    And,
    Eq,
    Exists,
    Filter,
    In,
    Not,
    Or,
    Prefix,
    Range,
    Regexp,
)
from kserver.wire.catalog import KuzzleError, kerror


@dataclass(frozen=True, slots=True)
class Query:
    filter: Filter
    sort: SortSpec


def build_query(body: dict[str, Any], lang: str, fields: Fields) -> Query:
    """Raises services.storage.* (ES) or api.assert.koncorde_* (Koncorde) errors."""
    if lang not in ("elasticsearch", "koncorde"):
        raise kerror("api.assert.invalid_argument", "lang", '"elasticsearch" or "koncorde"')
    raw_query = body.get("query")
    filter = to_filter(raw_query, fields) if lang == "elasticsearch" else koncorde_filter(raw_query, fields)
    sort = to_sort(body.get("sort"), fields)
    if body.get("search_after") is not None:
        filter = And((filter, after(sort, body["search_after"])))
    return Query(filter, sort)


def koncorde_filter(raw: Any, fields: Fields) -> Filter:
    try:
        translated = to_storage_filter(raw or {})
    except KoncordeError as error:
        raise _koncorde_error(error) from None
    return _map_paths(translated, fields)


def _koncorde_error(error: KoncordeError) -> KuzzleError:
    if error.kind == "unknown_keyword":
        return kerror("api.assert.koncorde_unknown_keyword", error.keyword or error.message)
    if error.kind == "restricted_keyword":
        return kerror("api.assert.koncorde_restricted_keyword", "keyword", error.keyword or "")
    return kerror("api.assert.koncorde_dsl_error", error.message)


def _map_paths(node: Filter, fields: Fields) -> Filter:
    match node:
        case And(clauses):
            return And(tuple(_map_paths(c, fields) for c in clauses))
        case Or(clauses):
            return Or(tuple(_map_paths(c, fields) for c in clauses))
        case Not(clause):
            return Not(_map_paths(clause, fields))
        case Eq() | In() | Exists() | Range() | Prefix() | Regexp():
            return replace(node, path=fields.path(node.path))
    return node
