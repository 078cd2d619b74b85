"""The HTTP transport against a real server: routes, /_query, CORS, body handling, errors."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from tests.server_process import ServerProcess


@pytest.fixture
async def http(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as client:
        yield client


async def test_now(http: httpx.AsyncClient) -> None:
    response = await http.get("/_now")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == 200
    assert body["error"] is None
    assert body["controller"] == "server"
    assert body["action"] == "now"
    assert isinstance(body["result"]["now"], int)
    assert "room" not in body
    assert response.headers["x-kuzzle-request-id"] == body["requestId"]
    assert response.headers["x-kuzzle-node"] == body["node"]


async def test_root_is_server_info(http: httpx.AsyncClient) -> None:
    body = (await http.get("/")).json()
    assert body["action"] == "info"
    routes = body["result"]["serverInfo"]["kuzzle"]["api"]["routes"]
    assert routes["server"]["now"]["http"] == [{"verb": "GET", "path": "/_now", "url": "/_now"}]


async def test_request_id_header_is_used(http: httpx.AsyncClient) -> None:
    response = await http.get("/_now", headers={"X-Kuzzle-Request-Id": "abc-123"})
    assert response.json()["requestId"] == "abc-123"
    assert response.headers["x-kuzzle-request-id"] == "abc-123"


@pytest.mark.parametrize(
    ("method", "path", "error_id", "status"),
    [
        ("GET", "/nowhere", "network.http.url_not_found", 404),
        ("POST", "/_now", "network.http.url_not_found", 404),
        ("GET", "/users/a/b/c/d/e", "network.http.url_not_found", 404),
    ],
)
async def test_unknown_routes(
    http: httpx.AsyncClient, method: str, path: str, error_id: str, status: int
) -> None:
    response = await http.request(method, path)
    assert response.status_code == status
    assert response.json()["error"]["id"] == error_id


async def test_unsupported_verb(http: httpx.AsyncClient) -> None:
    response = await http.request("TRACE", "/_now")
    assert response.status_code == 400
    assert response.json()["error"]["id"] == "network.http.unsupported_verb"


async def test_options_and_cors(http: httpx.AsyncClient) -> None:
    response = await http.options("/anything", headers={"Origin": "http://example.test"})
    assert response.status_code == 200
    assert response.json()["result"] == {}
    assert response.headers["access-control-allow-origin"] == "http://example.test"
    assert response.headers["vary"] == "Origin"
    assert "X-Kuzzle-Volatile" in response.headers["access-control-allow-headers"]
    assert "PATCH" in response.headers["access-control-allow-methods"]
    no_origin = await http.get("/_now")
    assert "access-control-allow-origin" not in no_origin.headers


async def test_healthcheck_endpoints(http: httpx.AsyncClient) -> None:
    assert (await http.get("/_healthcheck")).status_code == 200
    assert (await http.get("/_ready")).status_code == 200
    health = (await http.get("/_healthCheck")).json()
    assert health["result"] == {
        "status": "green",
        "services": {"internalCache": "green", "memoryStorage": "green", "storageEngine": "green"},
    }


async def test_query_endpoint(http: httpx.AsyncClient) -> None:
    response = await http.post("/_query", json={"controller": "server", "action": "now", "requestId": "q1"})
    body = response.json()
    assert body["requestId"] == "q1"
    assert "now" in body["result"]
    empty = await http.post("/_query", json={})
    assert empty.status_code == 400
    assert empty.json()["error"]["id"] == "api.assert.missing_argument"


async def test_body_errors(http: httpx.AsyncClient) -> None:
    bad = await http.post("/_query", content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["error"]["id"] == "network.http.body_parse_failed"
    unsupported = await http.post("/_query", content=b"x", headers={"Content-Type": "application/xml"})
    assert unsupported.json()["error"]["id"] == "network.http.unsupported_content"
    charset = await http.post(
        "/_query", content=b"{}", headers={"Content-Type": "application/json; charset=latin1"}
    )
    assert charset.json()["error"]["id"] == "network.http.unsupported_charset"
    too_big = await http.post("/_query", content=b" " * (1024 * 1024 + 1))
    assert too_big.status_code == 413
    assert too_big.json()["error"]["id"] == "network.http.request_too_large"


async def test_gzip_body(http: httpx.AsyncClient) -> None:
    payload = gzip.compress(orjson.dumps({"controller": "server", "action": "now"}))
    response = await http.post("/_query", content=payload, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200
    bomb = gzip.compress(b" " * (8 * 1024 * 1024))
    response = await http.post("/_query", content=bomb, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413


async def test_bad_volatile_header(http: httpx.AsyncClient) -> None:
    response = await http.get("/_now", headers={"X-Kuzzle-Volatile": "{bad"})
    assert response.json()["error"]["id"] == "network.http.volatile_parse_failed"
    ok = await http.get("/_now", headers={"X-Kuzzle-Volatile": '{"a": 1}'})
    assert ok.json()["volatile"] == {"a": 1}


async def test_server_actions_over_http(http: httpx.AsyncClient) -> None:
    public_api = (await http.get("/_publicApi")).json()["result"]
    assert public_api["server"]["now"] == {
        "controller": "server",
        "action": "now",
        "http": [{"verb": "GET", "path": "/_now", "url": "/_now"}],
    }
    openapi = await http.get("/_openapi")
    assert openapi.headers["content-type"] == "application/json"
    assert openapi.json()["swagger"] == "2.0"
    assert "/users/{_id}/_upsert" in openapi.json()["paths"]
    assert (await http.get("/_adminExists")).json()["result"] == {"exists": False}
    config = (await http.get("/_getConfig")).json()["result"]
    assert config["limits"]["documentsFetchCount"] == 10_000


async def test_keep_alive(http: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await http.get("/_now")).status_code == 200
