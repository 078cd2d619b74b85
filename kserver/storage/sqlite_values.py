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


_SPLIT: dict[str, tuple[tuple[str, ...], str]] = {}
_SPLIT_MAX = 4096


def _split(path: str) -> tuple[tuple[str, ...], str]:
    """``(parents, leaf)`` of a dotted path, memoised: writes set the same few paths again and again."""
    found = _SPLIT.get(path)
    if found is None:
        *parents, leaf = path.split(".")
        found = (tuple(parents), leaf)
        if len(_SPLIT) >= _SPLIT_MAX:
            _SPLIT.clear()
        _SPLIT[path] = found
    return found


def node_at(source: Source, path: str) -> Any:
    """The value at dotted ``path``, None when missing (intermediate arrays are not traversed,
    matching the filters' ``json_each`` semantics)."""
    node: Any = source
    parents, leaf = _SPLIT.get(path) or _split(path)
    for key in parents:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node.get(leaf) if isinstance(node, dict) else None


def unique_values(node: Any) -> set[str]:
    """Canonical values of a unique path's ``node``: the scalar, or each array element; null and
    missing hold none."""
    if node is None:
        return set()
    items = node if isinstance(node, list) else [node]
    return {canonical(item) for item in items if item is not None}


def set_paths(doc: Source, paths: Mapping[str, Any]) -> None:
    """Set each dotted path in order, replacing any non-object on the way by a new object.

    Objects on the way are copied before they change (once per call, however many paths go
    through them), so the caller's values, which the document may share, are never mutated and
    objects off the changed paths stay the very same objects (``sqlite_docs`` relies on it).
    """
    copied: list[Source] = []  # the objects this call made, safe to change: a few, compared by identity
    walked: tuple[str, ...] | None = None
    node = doc
    for path, value in paths.items():
        found = _SPLIT.get(path)
        if found is None:
            found = _split(path)
        parents = found[0]
        if parents is not walked and parents != walked:  # ``content.*`` paths walk to it once
            walked = parents
            node = doc
            for key in parents:
                child = node.get(key)
                if not isinstance(child, dict):
                    child = {}
                    node[key] = child
                    copied.append(child)
                elif not _made_here(child, copied):
                    child = dict(child)
                    node[key] = child
                    copied.append(child)
                node = child
        node[found[1]] = value


def _made_here(node: Source, copied: list[Source]) -> bool:
    return any(made is node for made in copied)  # mypyc compiles it to a plain loop


def unset_paths(doc: Source, paths: Sequence[str]) -> None:
    """Remove each dotted path (copying objects on the way, as ``set_paths``); a missing path is ignored."""
    for path in paths:
        parents, leaf = _SPLIT.get(path) or _split(path)
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
