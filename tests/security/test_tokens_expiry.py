"""TokenExpired notifications on WebSocket connections, and failed-login throttling."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import storage_url
from tests.security.auth_world import Recorder, SeedUser, recorder_fixture, seeded_server, ws
from tests.server_process import ServerProcess


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, engine_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    users = [SeedUser(f"{name}-id", name, f"{name}-pw") for name in ("frank", "tina", "uma")]
    directory = tmp_path_factory.mktemp("auth-expiry")
    handle = seeded_server(
        directory,
        users,
        "--login-failures-per-minute",
        "3",
        storage=storage_url(request, engine_name, directory),
    )
    yield handle
    handle.stop()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield from recorder_fixture()


async def test_token_expired_notification(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as first, ws(server, recorder) as second:
        login = await first.login("frank", "frank-pw", expiresIn=1000)
        # a token used by any request on a connection is linked to it as well
        assert (await second.call("auth", "getCurrentUser", jwt=login["jwt"]))["_id"] == "frank-id"
        for client in (first, second):
            frame = await asyncio.wait_for(client.client.notifications.get(), 5)
            assert frame["type"] == "TokenExpired"
            assert frame["room"] == "kuzzle:notification:server"
            assert frame["status"] == 200
            assert frame["message"] == "Authentication Token Expired"
            assert set(frame) == {"status", "info", "message", "type", "node", "room"}
        error = await first.error("auth", "getCurrentUser", jwt=login["jwt"])
        assert (error["id"], error["status"]) == ("security.token.expired", 401)


async def test_logout_unlinks_the_connection(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        login = await client.login("frank", "frank-pw", expiresIn=1000)
        await client.call("auth", "logout", jwt=login["jwt"])
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.client.notifications.get(), 1.5)


async def _login(source: str, server: ServerProcess, username: str, password: str) -> httpx.Response:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(transport=transport, base_url=server.http_url, timeout=10) as client:
        return await client.post("/_login/local", json={"username": username, "password": password})


async def test_failed_logins_are_throttled_per_username_and_address(server: ServerProcess) -> None:
    for _ in range(3):
        response = await _login("127.0.0.2", server, "tina", "wrong")
        assert response.json()["error"]["id"] == "plugin.strategy.missing_user"
    # the username is locked, from any address, even with the right password
    locked = await _login("127.0.0.3", server, "tina", "tina-pw")
    assert locked.status_code == 429
    assert locked.json()["error"]["id"] == "api.process.too_many_logins_requests"
    # the address is locked for every username
    address = await _login("127.0.0.2", server, "uma", "uma-pw")
    assert address.status_code == 429
    # other usernames from other addresses are unaffected
    fine = await _login("127.0.0.4", server, "uma", "uma-pw")
    assert fine.status_code == 200
    assert fine.json()["result"]["_id"] == "uma-id"
