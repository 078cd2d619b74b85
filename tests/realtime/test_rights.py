"""Who may read %kserver/users: the realtime:subscribe right and security:searchUsers, via the gate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kclient import KClient, kclient
from tests.realtime.rt import notification, subscribe
from tests.security.auth_world import SERVER_ARGS
from tests.server_process import ServerProcess, start_server


@pytest.fixture
def locked_server(tmp_path: Path) -> Iterator[ServerProcess]:
    handle = start_server(tmp_path, args=SERVER_ARGS)
    yield handle
    handle.stop()


async def login(client: KClient, username: str, password: str) -> None:
    result = await client.call(
        "auth", "login", strategy="local", body={"username": username, "password": password}
    )
    client.jwt = result["jwt"]


async def test_reading_user_events_needs_search_users(locked_server: ServerProcess) -> None:
    url = locked_server.ws_url
    async with kclient(url) as admin, kclient(url) as watcher, kclient(url) as anonymous:
        credentials = {"local": {"username": "root", "password": "Root-pass-1234"}}
        await admin.call(
            "security",
            "createFirstAdmin",
            _id="root",
            reset=True,
            body={"content": {}, "credentials": credentials},
        )
        await login(admin, "root", "Root-pass-1234")
        await admin.call(
            "security",
            "createRole",
            _id="rt-only",
            body={"controllers": {"realtime": {"actions": {"*": True}}, "auth": {"actions": {"*": True}}}},
        )
        await admin.call(
            "security", "createProfile", _id="rt-only", body={"policies": [{"roleId": "rt-only"}]}
        )
        await admin.call(
            "security",
            "createUser",
            _id="watcher",
            body={
                "content": {"profileIds": ["rt-only"]},
                "credentials": {"local": {"username": "watcher", "password": "Watch-pass-1234"}},
            },
        )
        await login(watcher, "watcher", "Watch-pass-1234")

        denied = await anonymous.query(
            {
                "controller": "realtime",
                "action": "subscribe",
                "index": "%kserver",
                "collection": "users",
                "body": {},
            }
        )
        assert (denied["status"], denied["error"]["id"]) == (401, "security.rights.unauthorized")
        forbidden = await watcher.query(
            {
                "controller": "realtime",
                "action": "subscribe",
                "index": "%kserver",
                "collection": "users",
                "body": {},
            }
        )
        assert (forbidden["status"], forbidden["error"]["id"]) == (403, "security.rights.forbidden")
        await subscribe(
            watcher, "app", "things", {}
        )  # realtime rights without searchUsers: elsewhere is fine

        room_id, _ = await subscribe(admin, "%kserver", "users", {"ids": {"values": ["newcomer"]}})
        joined = await watcher.query(
            {"controller": "realtime", "action": "join", "body": {"roomId": room_id}}
        )
        assert joined["error"]["id"] == "security.rights.forbidden"
        assert "%kserver" not in await watcher.call("realtime", "list")
        assert "%kserver" in await admin.call("realtime", "list")

        await admin.call(
            "security", "upsertUser", _id="newcomer", body={"content": {"profileIds": ["default"]}}
        )
        got = await notification(admin)
        assert (got["result"]["_id"], got["action"]) == ("newcomer", "create")


async def test_token_expiry_ends_the_connection_s_subscriptions(locked_server: ServerProcess) -> None:
    url = locked_server.ws_url
    async with kclient(url) as short, kclient(url) as watcher:
        credentials = {"local": {"username": "boss", "password": "Boss-pass-1234"}}
        await short.call(
            "security", "createFirstAdmin", _id="boss", body={"content": {}, "credentials": credentials}
        )
        result = await short.call(
            "auth",
            "login",
            strategy="local",
            expiresIn="1s",
            body={"username": "boss", "password": "Boss-pass-1234"},
        )
        short.jwt = result["jwt"]
        room_id, _ = await subscribe(short, "app", "expiring", {})
        await subscribe(watcher, "app", "expiring", {}, users="out")
        assert (await notification(short, timeout=5))["type"] == "TokenExpired"
        left = await notification(watcher)
        assert (left["type"], left["user"], left["result"]) == ("user", "out", {"count": 1})
        assert await watcher.call("realtime", "count", body={"roomId": room_id}) == {"count": 1}
