"""Pure functions on document sources: dotted-path writes and the values a unique path holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from kserver.storage.port import Source


def dumps(source: Source) -> str:
    return orjson.dumps(source).decode()


def loads(text: str | bytes) -> Source:
    value = orjson.loads(text)
    if not isinstance(value, dict):
        raise TypeError("a stored source is not a JSON object")
    return value


def canonical(value: Any) -> str:
    """The JSON text a unique value is stored as: ``1.0`` and ``1`` are the same value."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def unique_values(source: Source, path: str) -> set[str]:
    """Canonical values at ``path``: the scalar there, or each array element; null and missing hold none.

    Intermediate arrays are not traversed, matching the filters' ``json_each`` semantics.
    """
    node: Any = source
    for key in path.split("."):
        if not isinstance(node, dict):
            return set()
        node = node.get(key)
    items = node if isinstance(node, list) else [node]
    return {canonical(item) for item in items if item is not None}


def set_paths(doc: Source, paths: Mapping[str, Any]) -> None:
    """Set each dotted path in order, replacing any non-object on the way by a new object.

    Objects on the way are copied before they change, so the caller's values
    (which the document may share) are never mutated.
    """
    for path, value in paths.items():
        *parents, leaf = path.split(".")
        node = doc
        for key in parents:
            child = node.get(key)
            child = dict(child) if isinstance(child, dict) else {}
            node[key] = child
            node = child
        node[leaf] = value


def unset_paths(doc: Source, paths: Sequence[str]) -> None:
    """Remove each dotted path (copying objects on the way, as ``set_paths``); a missing path is ignored."""
    for path in paths:
        *parents, leaf = path.split(".")
        node = doc
        for key in parents:
            child = node.get(key)
            if not isinstance(child, dict):
                break
            child = dict(child)
            node[key] = child
            node = child
        else:
            node.pop(leaf, None)
