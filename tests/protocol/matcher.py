"""The pattern language of ``protocol/vectors/*.json`` (specified in ``protocol/README.md``).

``match(expected, actual, request_id=...)`` returns one line per mismatch, each prefixed
with the JSON path where it occurs (``$.result.now``); an empty list means the value matches.
"""

from __future__ import annotations

import json
from collections.abc import Callable

TYPE_TOKENS: dict[str, Callable[[object], bool]] = {
    # bool is a subclass of int in Python but a distinct JSON type.
    "$number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "$string": lambda v: isinstance(v, str),
    "$bool": lambda v: isinstance(v, bool),
    "$object": lambda v: isinstance(v, dict),
    "$array": lambda v: isinstance(v, list),
    "$any": lambda v: True,
    "$null": lambda v: v is None,
}
ABSENT = "$absent"
EXACT = "$exact"
ECHO_REQUEST_ID = "$echo:requestId"


def match(expected: object, actual: object, *, request_id: str | None) -> list[str]:
    """Mismatches between the pattern ``expected`` and the JSON value ``actual``.

    ``request_id`` is what ``"$echo:requestId"`` must equal; when it is None that token
    never matches (the request had no readable requestId). A string starting with ``$``
    that is not a known token is reported as a pattern error, never compared literally.
    """
    out: list[str] = []
    _match(expected, actual, "$", request_id, out)
    return out


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _match(expected: object, actual: object, where: str, request_id: str | None, out: list[str]) -> None:
    if isinstance(expected, str) and expected.startswith("$"):
        _match_token(expected, actual, where, request_id, out)
    elif isinstance(expected, dict):
        _match_object(expected, actual, where, request_id, out)
    elif isinstance(expected, list):
        _match_list(expected, actual, where, request_id, out)
    elif isinstance(expected, bool) or isinstance(actual, bool):
        if expected is not actual:
            out.append(f"{where}: expected {_show(expected)}, got {_show(actual)}")
    elif isinstance(expected, int | float) and isinstance(actual, int | float):
        if expected != actual:
            out.append(f"{where}: expected {_show(expected)}, got {_show(actual)}")
    elif type(expected) is not type(actual) or expected != actual:
        out.append(f"{where}: expected {_show(expected)}, got {_show(actual)}")


def _match_token(token: str, actual: object, where: str, request_id: str | None, out: list[str]) -> None:
    check = TYPE_TOKENS.get(token)
    if check is not None:
        if not check(actual):
            out.append(f"{where}: expected {token[1:]}, got {_show(actual)}")
    elif token == ECHO_REQUEST_ID:
        if request_id is None:
            out.append(f"{where}: {token} used but the request has no requestId")
        elif actual != request_id:
            out.append(f"{where}: expected the requestId {request_id!r}, got {_show(actual)}")
    elif token == ABSENT:
        out.append(f"{where}: expected absent, got {_show(actual)}")
    else:
        out.append(f"{where}: unknown pattern token {token!r}")


def _match_object(
    expected: dict[object, object], actual: object, where: str, request_id: str | None, out: list[str]
) -> None:
    if not isinstance(actual, dict):
        out.append(f"{where}: expected an object, got {_show(actual)}")
        return
    exact = expected.get(EXACT, False)
    if not isinstance(exact, bool):
        out.append(f"{where}: {EXACT} must be a boolean, got {_show(exact)}")
    for key, pattern in expected.items():
        if key == EXACT:
            continue
        path = f"{where}.{key}"
        if pattern == ABSENT:
            if key in actual:
                out.append(f"{path}: expected absent, got {_show(actual[key])}")
        elif key not in actual:
            out.append(f"{path}: missing")
        else:
            _match(pattern, actual[key], path, request_id, out)
    if exact is True:
        allowed = {k for k, v in expected.items() if k != EXACT and v != ABSENT}
        for key in actual:
            if key not in allowed:
                out.append(f"{where}.{key}: unexpected key (object is $exact)")


def _match_list(
    expected: list[object], actual: object, where: str, request_id: str | None, out: list[str]
) -> None:
    if not isinstance(actual, list):
        out.append(f"{where}: expected an array, got {_show(actual)}")
        return
    if len(expected) != len(actual):
        out.append(f"{where}: expected {len(expected)} elements, got {len(actual)}")
        return
    for i, (pattern, value) in enumerate(zip(expected, actual, strict=True)):
        _match(pattern, value, f"{where}[{i}]", request_id, out)


def vector_request_id(request: object, transport: str) -> str | None:
    """The requestId ``"$echo:requestId"`` refers to for a vector's ``request``.

    ws: the frame's string ``requestId`` (a ``{"raw": ...}`` frame is parsed first; unparsable
    or non-object text has none). http: the ``X-Kuzzle-Request-Id`` header, any case.
    """
    if not isinstance(request, dict):
        return None
    if transport == "http":
        headers = request.get("headers") or {}
        for name, value in headers.items():
            if name.lower() == "x-kuzzle-request-id" and isinstance(value, str):
                return value
        return None
    frame: object = request
    if set(request) == {"raw"} and isinstance(request["raw"], str):
        try:
            frame = json.loads(request["raw"])
        except ValueError:
            return None
    if isinstance(frame, dict) and isinstance(frame.get("requestId"), str):
        return str(frame["requestId"])
    return None
