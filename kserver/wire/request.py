"""A Kuzzle request, built from a WebSocket frame or an HTTP request, with typed getters.

The getters raise catalog errors (``api.assert.*``), as Kuzzle's request object
does, so controllers carry no validation code. Nothing here does I/O.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from kserver.wire.catalog import KuzzleError, kerror

Protocol = Literal["websocket", "http", "internal"]
Refresh = Literal["false", "wait_for"]
JsonObject = dict[str, Any]

_ROOT_KEYS = frozenset({"controller", "action", "jwt", "volatile", "body", "requestId"})
_MAX_SAFE_INTEGER = 2**53 - 1


class FrameError(Exception):
    """A frame that could not become a request; ``request_id`` is set when it could be read."""

    def __init__(self, error: KuzzleError, request_id: str | None, frame: JsonObject | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.request_id = request_id
        self.frame = frame


@dataclass(slots=True)
class Request:
    controller: str
    action: str
    request_id: str
    protocol: Protocol
    jwt: str | None
    volatile: JsonObject | None
    body: Any
    args: JsonObject
    http_headers: dict[str, str] | None
    """Lower-cased request headers, HTTP only."""

    # An explicit __init__ (the defaults are its own): mypyc compiles it; the one @dataclass writes
    # stays interpreted (per request).
    def __init__(
        self,
        controller: str,
        action: str,
        request_id: str,
        protocol: Protocol,
        jwt: str | None = None,
        volatile: JsonObject | None = None,
        body: Any = None,
        args: JsonObject | None = None,
        http_headers: dict[str, str] | None = None,
    ) -> None:
        self.controller = controller
        self.action = action
        self.request_id = request_id
        self.protocol = protocol
        self.jwt = jwt
        self.volatile = volatile
        self.body = body
        self.args = {} if args is None else args
        self.http_headers = http_headers

    # ---- identity and envelope fields -------------------------------------------------
    @property
    def index(self) -> str | None:
        value = self.args.get("index")
        return value if isinstance(value, str) else None

    @property
    def collection(self) -> str | None:
        value = self.args.get("collection")
        return value if isinstance(value, str) else None

    # ---- typed argument getters -------------------------------------------------------
    def has(self, name: str) -> bool:
        return self.args.get(name) is not None

    def string(self, name: str) -> str:
        """A required non-empty string argument."""
        value = self.args.get(name)
        if value is None:
            raise kerror("api.assert.missing_argument", name)
        if not isinstance(value, str):
            raise kerror("api.assert.invalid_type", name, "string")
        if not value:
            raise kerror("api.assert.empty_argument", name)
        return value

    def optional_string(self, name: str, default: str | None = None) -> str | None:
        value = self.args.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise kerror("api.assert.invalid_type", name, "string")
        return value

    def id(self) -> str:
        """The ``_id`` argument: required, a non-empty string."""
        value = self.args.get("_id")
        if isinstance(value, str) and value:
            return value
        return self.string("_id")  # raises the right error

    def optional_id(self) -> str | None:
        value = self.optional_string("_id")
        return value or None

    def boolean(self, name: str) -> bool:
        """A flag: over HTTP present means true whatever its value (Kuzzle's rule); over WS a real bool."""
        value = self.args.get(name)
        if value is None:
            return False
        if self.protocol == "http" and isinstance(value, str):
            return True
        if not isinstance(value, bool):
            raise kerror("api.assert.invalid_type", name, "boolean")
        return value

    def integer(self, name: str, default: int) -> int:
        """An integer argument (numeric strings accepted, as Kuzzle's parseFloat); must be a safe integer."""
        value = self.args.get(name)
        if value is None:
            return default
        number: float
        if isinstance(value, bool):
            raise kerror("api.assert.invalid_type", name, "integer")
        if isinstance(value, int | float):
            number = value
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise kerror("api.assert.invalid_type", name, "integer") from None
        else:
            raise kerror("api.assert.invalid_type", name, "integer")
        if not math.isfinite(number) or number != int(number) or abs(number) > _MAX_SAFE_INTEGER:
            raise kerror("api.assert.invalid_type", name, "integer")
        return int(number)

    def refresh(self, default: Refresh = "wait_for") -> Refresh:
        """Kuzzle's rule: absent = default; false/"false"/null = "false"; anything else = "wait_for"."""
        if "refresh" not in self.args:
            return default
        value = self.args["refresh"]
        if value is None or value is False or value == "false":
            return "false"
        return "wait_for"

    def retry_on_conflict(self, default: int = 10) -> int:
        value = self.integer("retryOnConflict", default)
        if value < 0:
            raise kerror("api.assert.invalid_argument", "retryOnConflict", "a positive integer")
        return value

    def string_list(self, name: str) -> list[str]:
        """An array of strings; over HTTP also a comma-separated string or a JSON array string."""
        value = self.args.get(name)
        if value is None:
            raise kerror("api.assert.missing_argument", name)
        if isinstance(value, str):
            if value.startswith("["):
                try:
                    value = orjson.loads(value)
                except orjson.JSONDecodeError:
                    raise kerror("api.assert.invalid_type", name, "array") from None
            else:
                value = [part for part in value.split(",") if part]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise kerror("api.assert.invalid_type", name, "array of strings")
        return value

    # ---- body getters -----------------------------------------------------------------
    def body_object(self) -> JsonObject:
        """The whole body, required to be an object."""
        if self.body is None:
            raise kerror("api.assert.body_required")
        if not isinstance(self.body, dict):
            raise kerror("api.assert.invalid_type", "body", "object")
        return self.body

    def optional_body(self) -> JsonObject:
        """The body as an object, ``{}`` when absent."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise kerror("api.assert.invalid_type", "body", "object")
        return self.body

    def body_field_object(self, name: str, *, required: bool = True) -> JsonObject | None:
        body = self.optional_body() if not required else self.body_object()
        value = body.get(name)
        if value is None:
            if required:
                raise kerror("api.assert.missing_argument", f"body.{name}")
            return None
        if not isinstance(value, dict):
            raise kerror("api.assert.invalid_type", f"body.{name}", "object")
        return value

    def body_field_string(self, name: str) -> str:
        value = self.body_object().get(name)
        if value is None:
            raise kerror("api.assert.missing_argument", f"body.{name}")
        if not isinstance(value, str):
            raise kerror("api.assert.invalid_type", f"body.{name}", "string")
        return value

    def body_field_array(self, name: str, *, required: bool = True) -> list[Any] | None:
        value = self.optional_body().get(name)
        if value is None:
            if required:
                raise kerror("api.assert.missing_argument", f"body.{name}")
            return None
        if not isinstance(value, list):
            raise kerror("api.assert.invalid_type", f"body.{name}", "array")
        return value


def new_request_id() -> str:
    return str(uuid.uuid4())


def request_from_object(data: Any, protocol: Protocol) -> Request:
    """Validate a decoded frame (Kuzzle's RequestInput rules); raises FrameError."""
    if not isinstance(data, dict):
        raise FrameError(kerror("api.assert.invalid_type", "request", "object"), None)
    request_id = data.get("requestId")
    if request_id is None:
        request_id = new_request_id()
    elif not isinstance(request_id, str):
        raise FrameError(kerror("api.assert.invalid_type", "requestId", "string"), None, data)
    controller = data.get("controller")
    action = data.get("action")
    jwt = data.get("jwt")
    volatile = data.get("volatile")
    body = data.get("body")
    if (
        isinstance(controller, str)
        and controller
        and isinstance(action, str)
        and action
        and (jwt is None or isinstance(jwt, str))
        and (volatile is None or isinstance(volatile, dict))
        and (body is None or isinstance(body, _CONTAINERS))
    ):
        args = {key: value for key, value in data.items() if key not in _ROOT_KEYS}
        return Request(controller, action, request_id, protocol, jwt or None, volatile, body, args)
    raise FrameError(_input_error(controller, action, jwt, volatile, body), request_id, data)


def _input_error(controller: Any, action: Any, jwt: Any, volatile: Any, body: Any) -> KuzzleError:
    """The first rule a frame's root fields break, in Kuzzle's order."""
    if controller is None or controller == "":
        return kerror("api.assert.missing_argument", "controller")
    if not isinstance(controller, str):
        return kerror("api.assert.invalid_type", "controller", "string")
    if action is None or action == "":
        return kerror("api.assert.missing_argument", "action")
    if not isinstance(action, str):
        return kerror("api.assert.invalid_type", "action", "string")
    if jwt is not None and not isinstance(jwt, str):
        return kerror("api.assert.invalid_type", "jwt", "string")
    if volatile is not None and not isinstance(volatile, dict):
        return kerror("api.assert.invalid_type", "volatile", "object")
    return kerror("api.assert.invalid_type", "body", "object")


MAX_DEPTH = 128
"""Deepest nesting a request may have. orjson reads 1024 levels but writes only 254, so a deeper
request could be stored (or echoed) and never read back; refusing it up front keeps every reply
and every stored document writable."""

_DEPTH_CHECK_FROM = 2 * MAX_DEPTH  # a text shorter than this cannot nest deeper than MAX_DEPTH
_CONTAINERS = (dict, list)  # a tuple: ``dict | list`` would build a union object at every test


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests objects/arrays more than ``limit`` levels deep."""
    level = [value]
    for _ in range(limit):
        children: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                children.extend(item.values())
            elif isinstance(item, list):
                children.extend(item)
        if not children:
            return False
        level = children
    return any(isinstance(item, dict | list) for item in level)


def json_too_deep(raw: str | bytes, value: Any) -> bool:
    """Whether ``value``, parsed from the JSON text ``raw``, nests more than MAX_DEPTH levels.

    Cheap answers first: a text too short, once the top-level string values (a jwt) are taken
    out of its length; too few brackets in the text (those inside strings count too: an upper
    bound; two C calls at about 4 instructions per character). Only then is ``value`` walked.
    """
    if len(raw) < _DEPTH_CHECK_FROM:
        return False
    if isinstance(value, dict):
        # The characters of the object's string values are no brackets (escapes only add to them),
        # and nesting N levels takes 2N brackets: a request's jwt is most of its length.
        structural = len(raw)
        for item in value.values():
            if isinstance(item, str):
                structural -= len(item)
        if structural < _DEPTH_CHECK_FROM:
            return False
    brackets = raw.count("{") + raw.count("[") if isinstance(raw, str) else raw.count(b"{") + raw.count(b"[")
    return brackets > MAX_DEPTH and too_deep(value)


def parse_frame(raw: str | bytes, protocol: Protocol = "websocket") -> Request:
    """Decode a JSON frame into a Request; raises FrameError with a catalog error."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        error = kerror("network.websocket.unexpected_error", f"Invalid JSON frame: {exc.msg}")
        raise FrameError(error, None) from None
    if len(raw) >= _DEPTH_CHECK_FROM and json_too_deep(raw, data):  # the first test spares a call
        request_id = data.get("requestId") if isinstance(data, dict) else None
        error = kerror("api.assert.invalid_argument", "request", f"at most {MAX_DEPTH} levels of nesting")
        raise FrameError(error, request_id if isinstance(request_id, str) else None, None)
    return request_from_object(data, protocol)
