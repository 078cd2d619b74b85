"""The vector pattern matcher: what must match, what must not, and how mismatches are reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .matcher import ABSENT, ECHO_REQUEST_ID, EXACT, TYPE_TOKENS, match, vector_request_id

RID = "5f0c2b7e-2f1a-4e0b-9a53-0d1b6e6f5c11"


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (1, 1),
        (1, 1.0),
        ("a", "a"),
        (None, None),
        (True, True),
        ({"a": 1}, {"a": 1, "extra": "ignored"}),
        ({"a": {"b": [1, "x"]}}, {"a": {"b": [1, "x"], "c": 3}}),
        ([], []),
        ({"$exact": True, "p": 2}, {"p": 2}),
        ({"$exact": False, "p": 2}, {"p": 2, "q": 3}),
        ({"$exact": True, "a": 1, "gone": "$absent"}, {"a": 1}),
        ({"index": "$absent"}, {"status": 200}),
        ({"room": "$echo:requestId", "requestId": "$echo:requestId"}, {"room": RID, "requestId": RID}),
        ({"result": {}}, {"result": {"now": 1}}),
    ],
)
def test_matches(expected: object, actual: object) -> None:
    assert match(expected, actual, request_id=RID) == []


@pytest.mark.parametrize(
    ("token", "good", "bad"),
    [
        ("$number", 1.5, "1.5"),
        ("$number", 0, True),
        ("$string", "", 0),
        ("$bool", False, 0),
        ("$bool", True, "true"),
        ("$object", {}, []),
        ("$array", [], {}),
        ("$null", None, 0),
        ("$null", None, ""),
    ],
)
def test_type_tokens(token: str, good: object, bad: object) -> None:
    assert match({"v": token}, {"v": good}, request_id=None) == []
    assert len(match({"v": token}, {"v": bad}, request_id=None)) == 1


@pytest.mark.parametrize("value", [None, 0, "", [], {}, False])
def test_any_matches_every_present_value(value: object) -> None:
    assert match({"v": "$any"}, {"v": value}, request_id=None) == []


@pytest.mark.parametrize("token", ["$any", "$null", "$number", "$object"])
def test_type_token_requires_presence(token: str) -> None:
    assert match({"v": token}, {}, request_id=None) == ["$.v: missing"]


@pytest.mark.parametrize(
    ("expected", "actual", "problem"),
    [
        (1, 2, "$: expected 1, got 2"),
        (1, "1", "$: expected 1, got '1'"),
        (1, True, "$: expected 1, got True"),
        (True, 1, "$: expected True, got 1"),
        (None, 0, "$: expected None, got 0"),
        ("a", None, "$: expected 'a', got None"),
        ({"a": 1}, {}, "$.a: missing"),
        ({"a": 1}, [1], "$: expected an object, got [1]"),
        ([1], {"0": 1}, "$: expected an array, got {'0': 1}"),
        ([1, 2], [1], "$: expected 2 elements, got 1"),
        ([1], [1, 2], "$: expected 1 elements, got 2"),
        ([1, {"x": "$string"}], [1, {"x": 3}], "$[1].x: expected string, got 3"),
        ({"$exact": True, "p": 2}, {"p": 2, "room": "r"}, "$.room: unexpected key (object is $exact)"),
        ({"p": 2, "$exact": True}, {"p": 1}, "$.p: expected 2, got 1"),
        ({"index": "$absent"}, {"index": None}, "$.index: expected absent, got None"),
        ({"error": {"id": "a.b.c"}}, {"error": None}, "$.error: expected an object, got None"),
        ({"error": {"id": "a.b.c"}}, {"error": {"id": "a.b.d"}}, "$.error.id: expected 'a.b.c', got 'a.b.d'"),
        ({"v": "$echo:requestId"}, {"v": "other"}, f"$.v: expected the requestId {RID!r}, got 'other'"),
        ({"v": "$nope"}, {"v": 1}, "$.v: unknown pattern token '$nope'"),
        ({"$exact": 1, "a": 1}, {"a": 1}, "$: $exact must be a boolean, got 1"),
        ("$absent", 1, "$: expected absent, got 1"),
    ],
)
def test_mismatches(expected: object, actual: object, problem: str) -> None:
    assert match(expected, actual, request_id=RID) == [problem]


def test_echo_without_request_id_never_matches() -> None:
    assert match({"room": "$echo:requestId"}, {"room": "x"}, request_id=None) == [
        "$.room: $echo:requestId used but the request has no requestId"
    ]


def test_exact_applies_only_to_its_own_object() -> None:
    expected = {"$exact": True, "a": {"b": 1}}
    assert match(expected, {"a": {"b": 1, "c": 2}}, request_id=None) == []
    assert match({"a": {"$exact": True, "b": 1}}, {"a": {"b": 1, "c": 2}, "d": 3}, request_id=None) == [
        "$.a.c: unexpected key (object is $exact)"
    ]


def test_reports_every_mismatch() -> None:
    expected = {"status": 404, "error": {"id": "api.process.controller_not_found", "code": "$number"}}
    actual = {"status": 400, "error": {"id": "api.assert.invalid_type", "code": "33619969"}}
    assert match(expected, actual, request_id=None) == [
        "$.status: expected 404, got 400",
        "$.error.id: expected 'api.process.controller_not_found', got 'api.assert.invalid_type'",
        "$.error.code: expected number, got '33619969'",
    ]


def test_long_values_are_shortened() -> None:
    (problem,) = match("short", "x" * 500, request_id=None)
    assert problem.endswith("...")
    assert len(problem) < 120


VECTORS_DIR = Path(__file__).resolve().parents[2] / "protocol" / "vectors"
VECTOR_FILES = sorted(VECTORS_DIR.glob("*.json"))
KNOWN_TOKENS = {*TYPE_TOKENS, ABSENT, ECHO_REQUEST_ID}


def _tokens(pattern: object) -> list[str]:
    """Every $-string used as a value or key in ``pattern``."""
    if isinstance(pattern, str):
        return [pattern] if pattern.startswith("$") else []
    if isinstance(pattern, list):
        return [t for item in pattern for t in _tokens(item)]
    if isinstance(pattern, dict):
        keys = [k for k in pattern if isinstance(k, str) and k.startswith("$")]
        return keys + [t for value in pattern.values() for t in _tokens(value)]
    return []


@pytest.mark.parametrize(
    ("request_", "transport", "expected"),
    [
        ({"controller": "a", "requestId": "r"}, "ws", "r"),
        ({"controller": "a", "requestId": 5}, "ws", None),
        ({"controller": "a"}, "ws", None),
        ({"raw": '{"requestId": "r2"}'}, "ws", "r2"),
        ({"raw": "{bad"}, "ws", None),
        ({"raw": '["r"]'}, "ws", None),
        ({"method": "GET", "path": "/", "headers": {"x-KUZZLE-request-id": "h"}}, "http", "h"),
        ({"method": "GET", "path": "/", "headers": {}}, "http", None),
        ({"method": "POST", "path": "/_query", "headers": {}, "body": {"requestId": "b"}}, "http", None),
    ],
)
def test_vector_request_id(request_: object, transport: str, expected: str | None) -> None:
    assert vector_request_id(request_, transport) == expected


def test_vector_files_present() -> None:
    assert {p.name for p in VECTOR_FILES} >= {"server.json", "frames.json", "http.json"}


@pytest.mark.parametrize("path", VECTOR_FILES, ids=[p.name for p in VECTOR_FILES])
def test_vector_file_well_formed(path: Path) -> None:
    data = json.loads(path.read_text("utf-8"))
    assert list(data) == ["vectors"]
    names = [v["name"] for v in data["vectors"]]
    assert len(names) == len(set(names)), "vector names repeat"
    for vector in data["vectors"]:
        name = vector["name"]
        assert set(vector) == {"name", "transport", "request", "expect"}, name
        assert vector["transport"] in {"ws", "http"}, name
        assert set(vector["expect"]) <= {"status", "headers", "body"}, name
        assert "body" in vector["expect"], name
        if vector["transport"] == "http":
            assert set(vector["request"]) == {"method", "path", "query", "headers", "body"}, name
            assert vector["request"]["path"].startswith("/"), name
            assert isinstance(vector["expect"]["status"], int), name
            assert all(k == k.lower() for k in vector["expect"].get("headers", {})), name
        else:
            assert isinstance(vector["request"], dict), name
            assert "headers" not in vector["expect"], name
        tokens = _tokens(vector["expect"])
        assert set(tokens) - {EXACT} <= KNOWN_TOKENS, name
        if ECHO_REQUEST_ID in tokens:
            assert vector_request_id(vector["request"], vector["transport"]) is not None, name
        body = vector["expect"]["body"]
        if isinstance(body, dict) and isinstance(body.get("status"), int) and "status" in vector["expect"]:
            assert body["status"] == vector["expect"]["status"], name
