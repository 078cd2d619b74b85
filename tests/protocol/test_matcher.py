"""The vector pattern matcher: what must match, what must not, and how mismatches are reported."""

from __future__ import annotations

import pytest

from .matcher import match

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
