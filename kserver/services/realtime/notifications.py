"""Notification payloads (Kuzzle's DocumentNotification and UserNotification), serialised once.

``serialize`` gives the frame without its ``room``; ``frame`` appends the
channel as the last key, so one notification costs one ``orjson.dumps`` plus
one bytes concatenation per channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from kserver.services.realtime.channels import Direction

DocumentAction = Literal["create", "update", "replace", "delete", "publish"]

_EVENTS: dict[str, str] = {
    "create": "write",
    "update": "write",
    "replace": "write",
    "delete": "delete",
    "publish": "publish",
}


@dataclass(slots=True)  # one or more per request: not frozen, whose __init__ costs 3 times as much
class DocumentChange:
    """A document event to notify, with what the notification needs of its causing request.

    Plain JSON data (``to_json``/``from_json``), so it can travel between nodes.
    """

    index: str
    collection: str
    action: DocumentAction
    id: str | None
    source: dict[str, Any]
    controller: str
    node: str
    timestamp: int
    request_id: str | None = None
    volatile: dict[str, Any] | None = None
    protocol: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys added to ``result`` after ``_id``/``_source`` (e.g. ``created`` for upserts)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "collection": self.collection,
            "action": self.action,
            "id": self.id,
            "source": self.source,
            "controller": self.controller,
            "node": self.node,
            "timestamp": self.timestamp,
            "requestId": self.request_id,
            "volatile": self.volatile,
            "protocol": self.protocol,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentChange:
        """Raises KeyError/TypeError/ValueError on a malformed message."""
        action = data["action"]
        if action not in _EVENTS:
            raise ValueError(f"unknown action {action!r}")
        source, extra = data["source"], data.get("extra") or {}
        if not isinstance(source, dict) or not isinstance(extra, dict):
            raise TypeError("source and extra must be objects")
        return cls(
            index=str(data["index"]),
            collection=str(data["collection"]),
            action=action,
            id=data.get("id"),
            source=source,
            controller=str(data["controller"]),
            node=str(data["node"]),
            timestamp=int(data["timestamp"]),
            request_id=data.get("requestId"),
            volatile=data.get("volatile"),
            protocol=data.get("protocol"),
            extra=extra,
        )


def document_notification(change: DocumentChange, scope: Direction) -> bytes:
    """The serialised document notification, without ``room``."""
    result: dict[str, Any] = {}
    if change.id is not None:
        result["_id"] = change.id
    result["_source"] = change.source
    result.update(change.extra)
    return orjson.dumps(
        {
            "type": "document",
            "status": 200,
            "action": change.action,
            "scope": scope,
            "result": result,
            "node": change.node,
            "event": _EVENTS[change.action],
            "requestId": change.request_id,
            "timestamp": change.timestamp,
            "volatile": change.volatile,
            "index": change.index,
            "collection": change.collection,
            "controller": change.controller,
            "protocol": change.protocol,
        }
    )


def user_notification(
    *,
    user: Direction,
    count: int,
    node: str,
    timestamp: int,
    volatile: dict[str, Any] | None,
    index: str,
    collection: str,
    action: str,
    protocol: str,
) -> bytes:
    """The serialised user notification (someone entered or left a room), without ``room``."""
    return orjson.dumps(
        {
            "type": "user",
            "status": 200,
            "user": user,
            "result": {"count": count},
            "node": node,
            "timestamp": timestamp,
            "volatile": volatile,
            "index": index,
            "collection": collection,
            "controller": "realtime",
            "action": action,
            "protocol": protocol,
        }
    )


def frame(payload: bytes, tail: bytes) -> bytes:
    """``payload`` (a serialised object) with ``tail`` (``,"room":"..."}``) as its end."""
    return payload[:-1] + tail
