"""protocol/routes.json: well-formed, unambiguous, and Kuzzle 2.x paths (protocol-notes §4)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROUTES_PATH = Path(__file__).resolve().parents[2] / "protocol" / "routes.json"
VERBS = {"get", "post", "put", "delete", "patch", "head"}
PLACEHOLDER = re.compile(r":[A-Za-z_][A-Za-z0-9_]*")

KNOWN = [
    ("get", "/", "server", "info"),
    ("get", "/_serverInfo", "server", "info"),
    ("get", "/_now", "server", "now"),
    ("get", "/_healthCheck", "server", "healthCheck"),
    ("get", "/_publicApi", "server", "publicApi"),
    ("get", "/_openapi", "server", "openapi"),
    ("get", "/_adminExists", "server", "adminExists"),
    ("get", "/_getConfig", "server", "getConfig"),
    ("post", "/_login/:strategy", "auth", "login"),
    ("get", "/_login/:strategy", "auth", "login"),
    ("post", "/_logout", "auth", "logout"),
    ("post", "/_checkToken", "auth", "checkToken"),
    ("get", "/_me", "auth", "getCurrentUser"),
    ("put", "/_me", "auth", "updateSelf"),
    ("delete", "/api-keys/:_id", "auth", "deleteApiKey"),
    ("post", "/_createFirstAdmin", "security", "createFirstAdmin"),
    ("post", "/_createFirstAdmin/:_id", "security", "createFirstAdmin"),
    ("post", "/users/_create", "security", "createUser"),
    ("post", "/users/:_id/_create", "security", "createUser"),
    ("get", "/users/:_id", "security", "getUser"),
    ("get", "/users/_mGet", "security", "mGetUsers"),
    ("post", "/users/:_id/_upsert", "security", "upsertUser"),
    ("post", "/users/_mUpsert", "security", "mUpsertUsers"),
    ("put", "/users/:_id/_replace", "security", "replaceUser"),
    ("delete", "/users/:userId/api-keys/:_id", "security", "deleteApiKey"),
    ("get", "/credentials/:strategy/:_id/_exists", "security", "hasCredentials"),
    ("post", "/_security/:collection/_refresh", "security", "refresh"),
    ("get", "/users/_scroll/:scrollId", "security", "scrollUsers"),
    ("get", "/_listSubscriptions", "realtime", "list"),
    ("post", "/:index/:collection/_publish", "realtime", "publish"),
    ("post", "/admin/_resetSecurity", "admin", "resetSecurity"),
]

DEPRECATED = [
    ("get", "/users/_me"),
    ("put", "/_updateSelf"),
    ("get", "/_publicApi"),
    ("delete", "/credentials/:strategy/_me"),
    ("get", "/_getStats"),
]


@pytest.fixture(scope="module")
def routes() -> list[dict[str, Any]]:
    loaded: dict[str, Any] = json.loads(ROUTES_PATH.read_text("utf-8"))
    assert list(loaded) == ["routes"]
    table: list[dict[str, Any]] = loaded["routes"]
    return table


def _shape(path: str) -> tuple[str, ...]:
    return tuple(":" if seg.startswith(":") else seg for seg in path.split("/"))


def test_fields(routes: list[dict[str, Any]]) -> None:
    assert len(routes) > 100
    for r in routes:
        assert set(r) <= {"verb", "path", "controller", "action", "deprecated", "kserver"}, r
        assert r["verb"] in VERBS, r
        for key in ("path", "controller", "action"):
            assert isinstance(r[key], str), r
            assert r[key], r
        assert isinstance(r["deprecated"], bool), r
        assert r.get("kserver", True) is True, r


def test_paths_well_formed(routes: list[dict[str, Any]]) -> None:
    for r in routes:
        path = r["path"]
        assert path.startswith("/"), path
        assert path == "/" or not path.endswith("/"), path
        segments = path.split("/")[1:]
        assert path == "/" or all(segments), f"empty segment in {path}"
        for seg in segments:
            if ":" in seg or "{" in seg or "}" in seg:
                assert PLACEHOLDER.fullmatch(seg), f"{path}: placeholder {seg!r} is not :name"


def test_no_duplicate_verb_path(routes: list[dict[str, Any]]) -> None:
    pairs = [(r["verb"], r["path"]) for r in routes]
    assert len(pairs) == len(set(pairs))


def test_no_ambiguous_routes(routes: list[dict[str, Any]]) -> None:
    # Same verb and same literal/placeholder layout would make the match depend on table order.
    shapes = [(r["verb"], _shape(r["path"])) for r in routes]
    assert len(shapes) == len(set(shapes))


def test_controllers_in_scope(routes: list[dict[str, Any]]) -> None:
    assert {r["controller"] for r in routes} == {"server", "auth", "security", "realtime", "admin"}
    assert {r["action"] for r in routes if r["controller"] == "admin"} == {"resetSecurity"}


def test_transport_paths_excluded(routes: list[dict[str, Any]]) -> None:
    paths = {r["path"] for r in routes}
    assert not paths & {"/_query", "/_healthcheck", "/_ready"}


@pytest.mark.parametrize(("verb", "path", "controller", "action"), KNOWN)
def test_known_route(
    routes: list[dict[str, Any]], verb: str, path: str, controller: str, action: str
) -> None:
    found = [r for r in routes if (r["verb"], r["path"]) == (verb, path)]
    assert len(found) == 1
    assert (found[0]["controller"], found[0]["action"]) == (controller, action)


@pytest.mark.parametrize(("verb", "path"), DEPRECATED)
def test_deprecated_route(routes: list[dict[str, Any]], verb: str, path: str) -> None:
    assert [r["deprecated"] for r in routes if (r["verb"], r["path"]) == (verb, path)] == [True]


def test_kserver_additions(routes: list[dict[str, Any]]) -> None:
    ours = [(r["verb"], r["path"], r["controller"], r["action"]) for r in routes if r.get("kserver")]
    assert ours == [("post", "/users/_mUpsert", "security", "mUpsertUsers")]


def test_realtime_has_no_subscribe_route(routes: list[dict[str, Any]]) -> None:
    realtime = {r["action"] for r in routes if r["controller"] == "realtime"}
    assert realtime == {"list", "publish"}


def _route_for(routes: list[dict[str, Any]], method: str, path: str) -> dict[str, Any] | None:
    """Kuzzle's matching: per segment, a literal beats a placeholder; trailing / ignored."""
    segments = path.rstrip("/").split("/")[1:] if path != "/" else []
    candidates = [r for r in routes if r["verb"] == method.lower()]
    for depth, seg in enumerate(segments):
        sized = [r for r in candidates if len(r["path"].split("/")[1:]) == len(segments)]
        literal = [r for r in sized if r["path"].split("/")[1:][depth] == seg]
        candidates = literal or [r for r in sized if r["path"].split("/")[1:][depth].startswith(":")]
    if not segments:
        candidates = [r for r in candidates if r["path"] == "/"]
    return candidates[0] if len(candidates) == 1 else None


def _http_vectors() -> list[dict[str, Any]]:
    vectors_dir = ROUTES_PATH.parent / "vectors"
    out: list[dict[str, Any]] = []
    for path in sorted(vectors_dir.glob("*.json")):
        out += [v for v in json.loads(path.read_text("utf-8"))["vectors"] if v["transport"] == "http"]
    return out


TRANSPORT_PATHS = {"/_query", "/_healthcheck", "/_ready"}


def test_http_vectors_agree_with_routes(routes: list[dict[str, Any]]) -> None:
    checked = 0
    for vector in _http_vectors():
        method, path = vector["request"]["method"], vector["request"]["path"]
        body = vector["expect"]["body"]
        if method == "OPTIONS" or path in TRANSPORT_PATHS or not isinstance(body, dict):
            continue
        route = _route_for(routes, method, path)
        error = body.get("error")
        if isinstance(error, dict) and error.get("id") == "network.http.url_not_found":
            assert route is None, vector["name"]
        else:
            assert route is not None, vector["name"]
            assert body.get("controller", route["controller"]) == route["controller"], vector["name"]
            assert body.get("action", route["action"]) == route["action"], vector["name"]
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/users/_mGet", "mGetUsers"),
        ("GET", "/users/kuid-1", "getUser"),
        ("GET", "/users/_me", "getCurrentUser"),
        ("POST", "/users/_create", "createUser"),
        ("POST", "/users/u1/_create", "createUser"),
        ("GET", "/_now/", "now"),
        ("GET", "/", "info"),
        ("DELETE", "/_now", None),
        ("GET", "/users", None),
    ],
)
def test_route_lookup(routes: list[dict[str, Any]], method: str, path: str, expected: str | None) -> None:
    route = _route_for(routes, method, path)
    assert (route["action"] if route else None) == expected
