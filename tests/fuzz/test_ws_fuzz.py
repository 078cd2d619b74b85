"""Property-based fuzzing of the WebSocket frame parser and every action's arguments, on a live server.

Invariant: every frame gets a well-formed Kuzzle envelope (or the heartbeat
pong) with a catalogued error id, and the connection and the server live on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from tests.fuzz.conftest import cases
from tests.fuzz.invariants import check_envelope
from tests.server_process import ServerProcess

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
ARG_NAMES = [
    "_id", "index", "collection", "refresh", "retryOnConflict", "from", "size", "scroll", "scrollId", "lang",
    "kuid", "strategy", "expiresIn", "userId", "reset", "force", "strict", "onAssignedUsers", "global",
    "scope", "users", "ids", "services", "format", "cookieAuth", "requestId", "jwt", "volatile", "body",
]  # fmt: skip
BODY_KEYS = [
    "content", "credentials", "default", "users", "ids", "query", "sort", "policies", "controllers", "roleId",
    "username", "password", "token", "roomId", "description", "profileIds", "search_after",
]  # fmt: skip


@pytest.fixture(scope="module")
def actions(server: ServerProcess) -> list[tuple[str, str]]:
    api = httpx.get(f"{server.http_url}/_publicApi", timeout=10).json()["result"]
    return sorted((c, a) for c, entries in api.items() for a in entries)


@pytest.fixture(scope="module")
def ws(server: ServerProcess) -> Iterator[ClientConnection]:
    # No keepalive pings: the client's background thread would draw from `random` (frame masks)
    # while hypothesis generates a case, which hypothesis reports as a flaky strategy.
    with connect(server.ws_url, max_size=None, ping_interval=None) as connection:
        yield connection


def roundtrip(ws: ClientConnection, data: str | bytes) -> Any:
    ws.send(data)
    return orjson.loads(ws.recv(timeout=10))


def still_alive(ws: ClientConnection) -> None:
    """The connection answers; by heartbeat and checkToken, which no rights change can forbid
    (the fuzzer may well have run createFirstAdmin with reset, restricting anonymous rights)."""
    assert roundtrip(ws, '{"p":1}') == {"p": 2}
    reply = roundtrip(ws, '{"controller":"auth","action":"checkToken","requestId":"alive","body":{}}')
    assert reply["status"] == 200, reply


@settings(settings.get_profile("kserver-fuzz"), max_examples=cases(6000))
@given(frame=json_values)
def test_any_json_frame(ws: ClientConnection, frame: Any) -> None:
    check_envelope(roundtrip(ws, json.dumps(frame)), transport="websocket")


@settings(settings.get_profile("kserver-fuzz"), max_examples=cases(3000))
@given(data=st.binary(max_size=64) | st.text(max_size=64))
def test_any_bytes_or_text(ws: ClientConnection, data: bytes | str) -> None:
    check_envelope(roundtrip(ws, data), transport="websocket")


@settings(settings.get_profile("kserver-fuzz"), max_examples=cases(8000))
@given(data=st.data())
def test_every_action_with_hostile_arguments(
    ws: ClientConnection, actions: list[tuple[str, str]], data: st.DataObject
) -> None:
    controller, action = data.draw(st.sampled_from(actions))
    frame: dict[str, Any] = {"controller": controller, "action": action}
    for name in data.draw(st.lists(st.sampled_from(ARG_NAMES), max_size=5, unique=True)):
        frame[name] = data.draw(json_values)
    if data.draw(st.booleans()):
        frame["body"] = data.draw(st.dictionaries(st.sampled_from(BODY_KEYS), json_values, max_size=4))
    frame["requestId"] = "fuzz"
    if controller == "realtime" or (controller, action) in {
        ("auth", "logout"),
        ("security", "createFirstAdmin"),
    }:
        frame.pop("jwt", None)
    check_envelope(roundtrip(ws, json.dumps(frame)), transport="websocket")


@settings(settings.get_profile("kserver-fuzz"), max_examples=cases(500))
@given(depth=st.integers(min_value=1, max_value=5000), width=st.integers(min_value=0, max_value=3))
def test_deep_nesting(ws: ClientConnection, depth: int, width: int) -> None:
    body = "[" * depth + ",".join(["1"] * width) + "]" * depth
    check_envelope(
        roundtrip(ws, '{"controller":"server","action":"now","body":' + body + "}"), transport="websocket"
    )


@settings(settings.get_profile("kserver-fuzz"), max_examples=cases(500))
@given(
    number=st.sampled_from(
        ["1e400", "-1e400", "123456789012345678901234567890", "-0", "1E-400", "9007199254740993"]
    ),
    name=st.sampled_from(["retryOnConflict", "from", "size", "expiresIn", "refresh", "_id"]),
)
def test_numbers_out_of_range(ws: ClientConnection, number: str, name: str) -> None:
    raw = '{"controller":"security","action":"searchUsers","requestId":"n","' + name + '":' + number + "}"
    check_envelope(roundtrip(ws, raw), transport="websocket")


def test_duplicate_keys_and_invalid_utf8(ws: ClientConnection) -> None:
    dup = '{"controller":"server","controller":"nope","action":"now","requestId":"d"}'
    check_envelope(roundtrip(ws, dup), transport="websocket")
    check_envelope(roundtrip(ws, b'{"controller":"server\xff","action":"now"}'), transport="websocket")
    check_envelope(roundtrip(ws, json.dumps({"controller": "\ud800", "action": "x"})), transport="websocket")
    still_alive(ws)


def test_server_alive_after_fuzzing(ws: ClientConnection, server: ServerProcess) -> None:
    still_alive(ws)
    assert server.process.poll() is None
