"""The storage port's filter AST: what services ask engines to match.

Paths are dotted paths into a document's source (``content.emails``). A
condition on a path whose value is an array matches when any element matches
(Elasticsearch and MongoDB semantics). Engines translate this tree into their
own query language; none evaluates it by loading a whole collection.
"""

from __future__ import annotations

from dataclasses import dataclass

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Eq:
    path: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class In:
    path: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Exists:
    path: str


@dataclass(frozen=True, slots=True)
class Range:
    path: str
    gt: float | str | None = None
    gte: float | str | None = None
    lt: float | str | None = None
    lte: float | str | None = None


@dataclass(frozen=True, slots=True)
class Ids:
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Prefix:
    path: str
    value: str


@dataclass(frozen=True, slots=True)
class Regexp:
    """A regular expression search on a string field (Python ``re`` syntax subset shared with PCRE)."""

    path: str
    pattern: str
    case_insensitive: bool = False


@dataclass(frozen=True, slots=True)
class And:
    clauses: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    clauses: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    clause: Filter


@dataclass(frozen=True, slots=True)
class MatchAll:
    pass


Filter = Eq | In | Exists | Range | Ids | Prefix | Regexp | And | Or | Not | MatchAll

MATCH_ALL = MatchAll()
