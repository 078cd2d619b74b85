"""Property-based fuzzing of the HTTP routes: methods, paths, query strings, headers and bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import cases
from tests.fuzz.invariants import check_envelope
from tests.server_process import ServerProcess

SEGMENTS = [
    "users", "profiles", "roles", "credentials", "local", "_create", "_upsert", "_mUpsert", "_search",
    "_mGet", "_me", "_login", "_logout", "_query", "_now", "api-keys", "_rights", "%2F", "..", "_scroll",
    "x", "-1",
]  # fmt: skip
QUERY_KEYS = ["_id", "refresh", "from", "size", "ids", "reset", "strategy"]
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", "image/png"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http_url, timeout=10) as client:
        yield client


@settings(settings.get_profile("kserver-fuzz"), max_examples=cases(2500))
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    segments=st.lists(st.sampled_from(SEGMENTS) | st.text(min_size=1, max_size=6), max_size=5),
    query=st.dictionaries(st.sampled_from(QUERY_KEYS), st.text(max_size=8)),
    body=json_values,
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_any_route(
    http: httpx.Client,
    method: str,
    segments: list[str],
    query: dict[str, str],
    body: object,
    content_type: str,
) -> None:
    path = "/" + "/".join(quote(s, safe="%") for s in segments)
    response = http.request(
        method,
        path,
        params=query,
        content=json.dumps(body).encode(),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == (response.json()["status"] if response.content else response.status_code)
    check_envelope(response.json(), transport="http")


@settings(settings.get_profile("kserver-fuzz"), max_examples=cases(1000))
@given(
    raw=st.binary(max_size=80),
    encoding=st.sampled_from(["", "gzip", "deflate", "br", "gzip, gzip, gzip, gzip"]),
)
def test_any_body_bytes(http: httpx.Client, raw: bytes, encoding: str) -> None:
    headers = {"Content-Encoding": encoding} if encoding else {}
    response = http.post("/_query", content=raw, headers=headers)
    check_envelope(response.json(), transport="http")
