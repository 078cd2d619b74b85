"""``_kuzzle_info``: who created and last changed a security object, and when (ms epoch)."""

from __future__ import annotations

import time
from typing import Any

INFO = "_kuzzle_info"


def now_ms() -> int:
    return int(time.time() * 1000)


def created_info(author: str | None, now: int | None = None) -> dict[str, Any]:
    return {
        "author": author,
        "createdAt": now_ms() if now is None else now,
        "updatedAt": None,
        "updater": None,
    }


def updated_info(previous: Any, updater: str | None, now: int | None = None) -> dict[str, Any]:
    """The info after a change: author and createdAt kept, updatedAt/updater set."""
    before = previous if isinstance(previous, dict) else {}
    return {
        "author": before.get("author"),
        "createdAt": before.get("createdAt"),
        "updatedAt": now_ms() if now is None else now,
        "updater": updater,
    }


def without_reserved(body: dict[str, Any]) -> dict[str, Any]:
    """A client-sent object minus the keys the server owns (``_id``, ``_kuzzle_info``)."""
    return {key: value for key, value in body.items() if key not in ("_id", INFO)}
