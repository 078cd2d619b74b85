"""Play every conformance vector of ``protocol/vectors/`` against a live kserver."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from tests.protocol.matcher import match, vector_request_id
from tests.server_process import ServerProcess

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"


def _load() -> list[Any]:
    params = []
    for path in sorted(VECTORS.glob("*.json")):
        for vector in orjson.loads(path.read_bytes())["vectors"]:
            params.append(pytest.param(vector, id=f"{path.stem}:{vector['name']}"))
    return params


@pytest.mark.parametrize("vector", _load())
async def test_vector(server: ServerProcess, vector: dict[str, Any]) -> None:
    request = vector["request"]
    expect = vector["expect"]
    request_id = vector_request_id(request, vector["transport"])
    if vector["transport"] == "ws":
        text = request["raw"] if set(request) == {"raw"} else orjson.dumps(request).decode()
        async with connect(server.ws_url) as ws:
            await ws.send(text)
            body = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        status = body.get("status") if isinstance(body, dict) else None
        headers: dict[str, str] = {}
    else:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as client:
            response = await client.request(
                request["method"],
                request["path"],
                params=request.get("query") or None,
                headers=request.get("headers") or None,
                content=None if request.get("body") is None else orjson.dumps(request["body"]),
            )
        status = response.status_code
        headers = dict(response.headers)
        body = response.json() if response.content else None
    problems: list[str] = []
    if "status" in expect and status != expect["status"]:
        problems.append(f"status {status} != {expect['status']}")
    expected_headers = {name.lower(): value for name, value in (expect.get("headers") or {}).items()}
    if expected_headers:
        problems += [f"headers: {p}" for p in match(expected_headers, headers, request_id=request_id)]
    if "body" in expect:
        problems += match(expect["body"], body, request_id=request_id)
    assert not problems, f"{vector['name']}: {problems}\nbody: {body}"
