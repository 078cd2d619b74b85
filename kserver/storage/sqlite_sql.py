"""The filter AST and sort specs translated to SQLite SQL over the ``docs`` table aliased ``d``.

A condition on a path matches when the value there, or any element of the
array there, matches (``json_each`` yields the scalar itself, or the array's
elements; rows with a text ``key`` are an object's members and never match).
Comparisons are type-aware (``json_each.type``): ``1`` never equals ``"1"`` or
``true``. ``Eq``/``In`` on a unique path go through the ``uniq`` table's index.

Semantics every engine shares (the contract suite checks them):
``Eq(path, None)`` matches a null or missing value; ``Exists`` matches a
present, non-null value; ``Regexp`` is an unanchored ``re.search``;
``Range``/``Prefix`` compare strings by code point.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

import orjson

from kserver.storage.filters import (
    And,
    Eq,
    Exists,
    Filter,
    Ids,
    In,
    MatchAll,
    Not,
    Or,
    Prefix,
    Range,
    Regexp,
    Scalar,
)
from kserver.storage.port import SortSpec
from kserver.storage.sqlite_values import canonical

REGEXP_FUNCTION = "kregexp"

_NUMBER = "e.type IN ('integer', 'real')"


@dataclass(slots=True)
class Sql:
    text: str
    params: list[object] = field(default_factory=list)


def json_path(path: str) -> str:
    """``a.b`` → ``$."a"."b"``; raises ValueError on an empty segment or a double quote."""
    parts = path.split(".")
    if any(not part or '"' in part for part in parts):
        raise ValueError(f"invalid document path {path!r}")
    return "$" + "".join(f'."{part}"' for part in parts)


def _scalar_test(value: Scalar) -> Sql:
    """A test on one ``json_each`` row ``e`` for equality with ``value``."""
    if value is None:
        return Sql("e.type = 'null'")
    if value is True:
        return Sql("e.type = 'true'")
    if value is False:
        return Sql("e.type = 'false'")
    if isinstance(value, int | float):
        return Sql(f"{_NUMBER} AND e.value = ?", [value])
    if isinstance(value, str):
        return Sql("e.type = 'text' AND e.value = ?", [value])
    raise TypeError(f"not a filter scalar: {value!r}")


def _any(path: str, test: Sql) -> Sql:
    return Sql(
        f"EXISTS (SELECT 1 FROM json_each(d.source, ?) AS e WHERE typeof(e.key) <> 'text' AND ({test.text}))",
        [json_path(path), *test.params],
    )


def _missing(path: str) -> Sql:
    return Sql("json_type(d.source, ?) IS NULL", [json_path(path)])


def _join(op: str, parts: list[Sql], empty: str) -> Sql:
    if not parts:
        return Sql(empty)
    return Sql(f" {op} ".join(f"({p.text})" for p in parts), [x for p in parts for x in p.params])


def _bound_test(op: str, bound: float | str) -> Sql:
    kind = "e.type = 'text'" if isinstance(bound, str) else _NUMBER
    return Sql(f"{kind} AND e.value {op} ?", [bound])


@dataclass(frozen=True, slots=True)
class FilterCompiler:
    """Compiles filters for one collection, whose unique paths are indexed in ``uniq``."""

    collection: str
    unique_paths: Collection[str]

    def where(self, node: Filter) -> Sql:
        """A WHERE clause (collection included) that is never NULL, so ``NOT`` is exact."""
        cond = self.compile(node)
        return Sql(f"d.collection = ? AND ({cond.text})", [self.collection, *cond.params])

    def compile(self, node: Filter) -> Sql:
        match node:
            case MatchAll():
                return Sql("1")
            case And(clauses):
                return _join("AND", [self.compile(c) for c in clauses], "1")
            case Or(clauses):
                return _join("OR", [self.compile(c) for c in clauses], "0")
            case Not(clause):
                inner = self.compile(clause)
                return Sql(f"NOT ({inner.text})", inner.params)
            case Ids(values):
                return Sql("d.id IN (SELECT value FROM json_each(?))", [_json_list(values)])
            case Eq(path, value):
                return self._in(path, (value,))
            case In(path, values):
                return self._in(path, values)
            case Exists(path):
                return Sql("coalesce(json_type(d.source, ?) <> 'null', 0)", [json_path(path)])
            case Range(path, gt, gte, lt, lte):
                ops = (">", ">=", "<", "<=")
                tests = [
                    _bound_test(op, b) for op, b in zip(ops, (gt, gte, lt, lte), strict=True) if b is not None
                ]
                return _any(path, _join("AND", tests, "e.type IN ('integer', 'real', 'text')"))
            case Prefix(path, value):
                return _any(path, Sql("e.type = 'text' AND substr(e.value, 1, ?) = ?", [len(value), value]))
            case Regexp(path, pattern, case_insensitive):
                flags = re.IGNORECASE if case_insensitive else 0
                try:
                    re.compile(pattern, flags)
                except re.error as exc:
                    raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
                test = Sql(f"e.type = 'text' AND {REGEXP_FUNCTION}(?, ?, e.value)", [pattern, int(flags)])
                return _any(path, test)
        raise TypeError(f"not a filter node: {node!r}")

    def _in(self, path: str, values: tuple[Scalar, ...]) -> Sql:
        present = [v for v in values if v is not None]
        parts: list[Sql] = []
        if present and path in self.unique_paths:
            # The uniq table holds every non-null value (and array element) at this path.
            parts.append(
                Sql(
                    "d.id IN (SELECT u.id FROM uniq AS u WHERE u.collection = ? AND u.path = ? "
                    "AND u.value IN (SELECT value FROM json_each(?)))",
                    [self.collection, path, _json_list([canonical(v) for v in present])],
                )
            )
        elif present:
            parts.append(_any(path, _join("OR", [_scalar_test(v) for v in present], "0")))
        if len(present) != len(values):
            parts.append(_missing(path))
            parts.append(_any(path, _scalar_test(None)))
        return _join("OR", parts, "0")


def _json_list(values: Collection[str]) -> str:
    # json_each(?) over a JSON array binds any number of values as one parameter.
    return orjson.dumps(list(values)).decode()


def order_by(sort: SortSpec) -> Sql:
    """ORDER BY the given dotted paths (``_id`` is the id), then by id ascending."""
    terms: list[str] = []
    params: list[object] = []
    for path, direction in sort:
        column = "d.id" if path == "_id" else "json_extract(d.source, ?)"
        if path != "_id":
            params.append(json_path(path))
        terms.append(f"{column} {'DESC' if direction == -1 else 'ASC'}")
    if all(path != "_id" for path, _ in sort):
        terms.append("d.id ASC")
    return Sql("ORDER BY " + ", ".join(terms), params)
