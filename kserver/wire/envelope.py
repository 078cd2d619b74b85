"""Response envelopes, as Kuzzle's ``RequestResponse.toJSON().content``.

``room`` (= requestId) is added on WebSocket only: the SDK routes replies on it.
``index``/``collection`` are present only when the request carried them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from kserver.wire.catalog import KuzzleError
from kserver.wire.request import Request


@dataclass(slots=True)
class Answer:
    """What a handler may return instead of a bare result, to add HTTP-only hints.

    ``http_status`` and ``http_headers`` apply to HTTP replies only; ``empty_http_body``
    sends no body (204-style answers). WebSocket replies always carry the envelope.
    """

    result: Any
    http_status: int | None = None
    http_headers: dict[str, str] = field(default_factory=dict)
    empty_http_body: bool = False


@dataclass(slots=True)
class Raw:
    """A raw HTTP payload (e.g. ``server:openapi``), sent as is with its content type."""

    content_type: str
    payload: bytes
    result: Any = None


def envelope(
    request: Request, node: str, *, result: Any = None, error: KuzzleError | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "requestId": request.request_id,
        "status": error.status if error is not None else 200,
        "error": error.to_json() if error is not None else None,
        "controller": request.controller,
        "action": request.action,
        "volatile": request.volatile,
        "headers": {},
        "result": result,
        "node": node,
    }
    args = request.args
    if "index" in args:
        out["index"] = args["index"]
    if "collection" in args:
        out["collection"] = args["collection"]
    return out


def frame_error_envelope(
    error: KuzzleError, node: str, request_id: str | None, frame: Any = None
) -> dict[str, Any]:
    """The reply to a frame that never became a request; echoes what could be read of it.

    ``room`` is set only when the frame's requestId could be read: the SDK can then
    settle the pending request instead of hanging (Kuzzle never sets it here).
    """
    data = frame if isinstance(frame, dict) else {}
    out: dict[str, Any] = {
        "requestId": request_id if request_id is not None else str(uuid.uuid4()),
        "status": error.status,
        "error": error.to_json(),
        "controller": data.get("controller") if isinstance(data.get("controller"), str) else None,
        "action": data.get("action") if isinstance(data.get("action"), str) else None,
        "volatile": data.get("volatile") if isinstance(data.get("volatile"), dict) else None,
        "headers": {},
        "result": None,
        "node": node,
    }
    if request_id is not None:
        out["room"] = request_id
    return out


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)
