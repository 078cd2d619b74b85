"""The small Elasticsearch query subset the API-key and credential searches accept, as storage filters.

Supported: ``match_all``, ``ids``, ``term``, ``terms``, ``match``, ``prefix``, ``range``,
``exists`` and ``bool`` (``must``/``filter``/``should``/``must_not``). ``fields`` maps the
client's field names to stored paths; any other field or keyword is
``api.assert.invalid_argument`` (never silently ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kserver.storage.filters import And, Eq, Exists, Filter, Ids, In, MatchAll, Not, Or, Prefix, Range, Scalar
from kserver.wire.catalog import kerror

_RANGE_OPS = ("gt", "gte", "lt", "lte")


def _bad(what: str) -> Exception:
    return kerror("api.assert.invalid_argument", "body.query", what)


def _field_value(clause: Any, keyword: str) -> tuple[str, Any]:
    if not isinstance(clause, dict) or len(clause) != 1:
        raise _bad(f'"{keyword}" takes exactly one field')
    ((name, value),) = clause.items()
    if isinstance(value, dict):
        inner = value.get("value", value.get("query"))
        value = inner
    return name, value


def _scalar(value: Any, keyword: str) -> Scalar:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    raise _bad(f'"{keyword}" needs a scalar value')


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class QueryTranslator:
    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = fields

    def _path(self, name: str) -> str:
        path = self.fields.get(name)
        if path is None:
            raise _bad(f'unknown field "{name}" (allowed: {", ".join(sorted(self.fields))})')
        return path

    def translate(self, query: Any) -> Filter:
        if query is None or query == {}:
            return MatchAll()
        if not isinstance(query, dict) or len(query) != 1:
            raise _bad("a query object with one keyword")
        ((keyword, clause),) = query.items()
        match keyword:
            case "match_all":
                return MatchAll()
            case "ids":
                values = clause.get("values") if isinstance(clause, dict) else None
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    raise _bad('"ids" needs a "values" array of strings')
                return Ids(tuple(values))
            case "term" | "match":
                name, value = _field_value(clause, keyword)
                return Eq(self._path(name), _scalar(value, keyword))
            case "terms":
                if not isinstance(clause, dict) or len(clause) != 1:
                    raise _bad('"terms" takes exactly one field')
                ((name, values),) = clause.items()
                if not isinstance(values, list):
                    raise _bad('"terms" needs an array')
                return In(self._path(name), tuple(_scalar(v, keyword) for v in values))
            case "prefix":
                name, value = _field_value(clause, keyword)
                if not isinstance(value, str):
                    raise _bad('"prefix" needs a string')
                return Prefix(self._path(name), value)
            case "exists":
                field = clause.get("field") if isinstance(clause, dict) else None
                if not isinstance(field, str):
                    raise _bad('"exists" needs a "field"')
                return Exists(self._path(field))
            case "range":
                if not isinstance(clause, dict) or len(clause) != 1:
                    raise _bad('"range" takes exactly one field')
                ((name, bounds),) = clause.items()
                if not isinstance(bounds, dict) or not set(bounds) <= set(_RANGE_OPS):
                    raise _bad('"range" takes gt, gte, lt, lte')
                for bound in bounds.values():
                    if isinstance(bound, bool) or not isinstance(bound, int | float | str):
                        raise _bad('"range" bounds are numbers or strings')
                return Range(self._path(name), **bounds)
            case "bool":
                return self._bool(clause)
        raise _bad(f'unsupported keyword "{keyword}"')

    def _bool(self, clause: Any) -> Filter:
        if not isinstance(clause, dict) or not set(clause) <= {
            "must",
            "filter",
            "should",
            "must_not",
            "boost",
        }:
            raise _bad('"bool" takes must, filter, should, must_not')
        parts: list[Filter] = [
            self.translate(q) for key in ("must", "filter") for q in _list(clause.get(key))
        ]
        should = [self.translate(q) for q in _list(clause.get("should"))]
        if should:
            parts.append(Or(tuple(should)))
        parts.extend(Not(self.translate(q)) for q in _list(clause.get("must_not")))
        return And(tuple(parts)) if parts else MatchAll()
