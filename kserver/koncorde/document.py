"""The view of a document that conditions test: a flat mapping of dotted paths.

``{"a": {"b": 1}}`` is seen as ``{"a": {"b": 1}, "a.b": 1}``, as Koncorde's
``flattenObject`` does: objects are walked, arrays are values and are not
descended into, and a literal key containing a dot collides with the nested
path (the later one in iteration order wins).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FlatDocument = Mapping[str, Any]


def flatten(document: Mapping[str, Any], doc_id: str | None = None) -> dict[str, Any]:
    """The flat view of ``document``; a given ``doc_id`` is exposed as the ``_id`` field."""
    out: dict[str, Any] = {}
    _walk(out, document, "")
    if doc_id is not None:
        out["_id"] = doc_id
    return out


def _walk(out: dict[str, Any], obj: Mapping[str, Any], prefix: str) -> None:
    for key, value in obj.items():
        path = prefix + key
        if type(value) is dict:
            _walk(out, value, path + ".")
        out[path] = value
