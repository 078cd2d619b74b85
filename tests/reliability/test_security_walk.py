"""Every route of protocol/routes.json and every registered action, over WebSocket and HTTP, as
anonymous and as a user limited to server:now + auth:*: rights are enforced identically on both
transports (same status, same error id), 401 for anonymous denials, 403 for the limited user."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kserver.wire.protocol_data import load_json
from tests.conftest import storage_url
from tests.kclient import KClient, kclient
from tests.security.conftest import CHEAP_HASH
from tests.server_process import ServerProcess, start_server

PASSWORD = "Walk-the-Routes-7"
_ids = itertools.count()
Outcome = tuple[int, str | None]


@pytest.fixture
def walk_server(request: pytest.FixtureRequest, engine_name: str, tmp_path: Path) -> Iterator[ServerProcess]:
    # the walk calls auth:login without credentials dozens of times: those failures must not
    # trip the login throttle (tests/security covers it), so raise it
    args = (*CHEAP_HASH, "--login-failures-per-minute", "100000")
    handle = start_server(tmp_path, storage=storage_url(request, engine_name, tmp_path), args=args)
    yield handle
    handle.stop()


Route = tuple[str, str, dict[str, str]]  # verb, path with placeholders filled, the same as arguments


def routes_by_action() -> dict[tuple[str, str], list[Route]]:
    out: dict[tuple[str, str], list[Route]] = {}
    for route in load_json("routes.json")["routes"]:
        args = {name: "walk" for name in re.findall(r":(\w+)", route["path"])}
        path = re.sub(r":\w+", "walk", route["path"])
        out.setdefault((route["controller"], route["action"]), []).append((route["verb"].upper(), path, args))
    return out


async def ws_outcome(
    client: KClient, controller: str, action: str, jwt: str | None, args: dict[str, str]
) -> Outcome:
    frame: dict[str, Any] = {
        "controller": controller,
        "action": action,
        "requestId": f"w{next(_ids)}",
        **args,
    }
    if jwt is not None:
        frame["jwt"] = jwt
    reply = await client.query(frame)
    return reply["status"], reply["error"]["id"] if reply["error"] else None


async def http_outcome(
    http: httpx.AsyncClient, verb: str, path: str, jwt: str | None, frame: dict[str, Any] | None = None
) -> Outcome:
    headers = {"Authorization": f"Bearer {jwt}"} if jwt is not None else {}
    response = await http.request(verb, path, headers=headers, json=frame)
    body = response.json()
    if response.status_code == 200 and "status" not in body:  # a raw action (openapi): bare payload
        return 200, None
    assert response.status_code == body["status"], (verb, path, body)
    return response.status_code, body["error"]["id"] if body["error"] else None


async def setup_limited_user(admin: KClient) -> str:
    """createFirstAdmin with reset, then a role (server:now + auth:*), a profile and a user."""
    await admin.call(
        "security",
        "createFirstAdmin",
        _id="walk-admin",
        reset=True,
        body={"content": {}, "credentials": {"local": {"username": "walk-admin", "password": PASSWORD}}},
    )
    admin.jwt = await login(admin, "walk-admin")
    controllers = {"server": {"actions": {"now": True}}, "auth": {"actions": {"*": True}}}
    await admin.call("security", "createRole", _id="walk-role", body={"controllers": controllers})
    await admin.call(
        "security", "createProfile", _id="walk-profile", body={"policies": [{"roleId": "walk-role"}]}
    )
    await admin.call(
        "security",
        "createUser",
        _id="walker",
        body={
            "content": {"profileIds": ["walk-profile"]},
            "credentials": {"local": {"username": "walker", "password": PASSWORD}},
        },
    )
    return "walker"


async def login(client: KClient, username: str) -> str:
    result = await client.call(
        "auth", "login", strategy="local", body={"username": username, "password": PASSWORD}, jwt=None
    )
    jwt: str = result["jwt"]
    return jwt


async def test_rights_are_identical_over_websocket_and_http(walk_server: ServerProcess) -> None:
    routes = routes_by_action()
    async with kclient(walk_server.ws_url) as admin:
        await setup_limited_user(admin)
    async with kclient(walk_server.ws_url) as ws, httpx.AsyncClient(base_url=walk_server.http_url) as http:
        assert ws.jwt is None  # frames carry only the jwt the walk gives them
        public = await ws.call("server", "publicApi")
        actions = sorted(
            {(c, a) for c, acts in public.items() for a in acts} | set(routes), key=lambda p: (p[0], p[1])
        )
        assert len(actions) > 80
        mismatches: list[str] = []
        allowed: dict[str, set[str]] = {"anonymous": set(), "limited": set()}
        for caller in ("anonymous", "limited"):
            for controller, action in actions:
                name = f"{controller}:{action}"
                # allowed auth actions may log out or refresh: each call gets a fresh token
                fresh = caller == "limited" and controller == "auth"
                jwt = None if caller == "anonymous" else await login(ws, "walker")

                async def token(jwt: str | None = jwt, fresh: bool = fresh) -> str | None:
                    return await login(ws, "walker") if fresh else jwt

                # the frame as POST /_query carries it, then each route with its path arguments
                query = {"controller": controller, "action": action}
                ws_seen = await ws_outcome(ws, controller, action, await token(), {})
                pairs = [
                    (
                        "POST /_query",
                        ws_seen,
                        await http_outcome(http, "POST", "/_query", await token(), query),
                    )
                ]
                for verb, path, args in routes.get((controller, action), []):
                    ws_route = await ws_outcome(ws, controller, action, await token(), args)
                    pairs.append(
                        (f"{verb} {path}", ws_route, await http_outcome(http, verb, path, await token()))
                    )
                for where, over_ws, over_http in pairs:
                    if over_ws != over_http:
                        mismatches.append(f"{caller} {name}: ws {over_ws} vs http {where} {over_http}")
                status, error_id = ws_seen
                if error_id is not None and error_id.startswith("security.rights."):
                    expected = (
                        (401, "security.rights.unauthorized")
                        if caller == "anonymous"
                        else (403, "security.rights.forbidden")
                    )
                    assert (status, error_id) == expected, f"{caller} {name}: {ws_seen}"
                else:
                    allowed[caller].add(name)
        assert not mismatches, "\n".join(mismatches)
    auth_actions = {f"auth:{a}" for c, a in actions if c == "auth"}
    assert allowed["limited"] == auth_actions | {"server:now"}
    assert {"auth:login", "auth:checkToken", "server:publicApi"} <= allowed["anonymous"]
    assert all(name.split(":")[0] in ("auth", "server") for name in allowed["anonymous"]), allowed[
        "anonymous"
    ]
