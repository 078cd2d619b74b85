"""Rights enforcement on a live server: createFirstAdmin + reset, roles limited to some actions,
Kuzzle's check order (rights before 404), bootstrap idempotence, admin:resetSecurity."""

from __future__ import annotations

from pathlib import Path

from tests.kclient import KClient, kclient
from tests.security.calls import fails, ok, uid
from tests.security.conftest import CHEAP_HASH
from tests.server_process import ServerProcess, start_server

PASSWORD = "Correct-Horse-9"


async def login(client: KClient, username: str) -> str:
    result = await ok(
        client,
        "login",
        controller="auth",
        strategy="local",
        body={"username": username, "password": PASSWORD},
    )
    client.jwt = result["jwt"]
    kuid: str = result["_id"]
    return kuid


async def test_first_admin_with_reset_restricts_anonymous(own_server: ServerProcess) -> None:
    async with kclient(own_server.ws_url) as anonymous:
        assert (await ok(anonymous, "adminExists", controller="server")) == {"exists": False}
        created = await ok(
            anonymous,
            "createFirstAdmin",
            _id="boss",
            reset=True,
            body={
                "content": {"name": "Boss"},
                "credentials": {"local": {"username": "boss", "password": PASSWORD}},
            },
        )
        assert created["_id"] == "boss"
        assert created["_source"]["profileIds"] == ["admin"]
        assert created["_source"]["name"] == "Boss"
        error = await fails(anonymous, "getUser", "security.rights.unauthorized", 401, _id="boss")
        assert error["props"] == ["security", "getUser", "-1"]
        # anonymous probing an unknown action gets 401, not 404 (rights first, as Kuzzle)
        await fails(anonymous, "nope", "security.rights.unauthorized", 401, controller="nothing")
        await fails(anonymous, "createFirstAdmin", "security.rights.unauthorized", 401, body={})
        await ok(anonymous, "publicApi", controller="server")
        await ok(anonymous, "checkToken", controller="auth", body={})
    async with kclient(own_server.ws_url) as admin:
        await login(admin, "boss")
        assert (await ok(admin, "getUser", _id="boss"))["_id"] == "boss"
        await fails(admin, "nope", "api.process.controller_not_found", 404, controller="nothing")
        await fails(admin, "createFirstAdmin", "api.process.admin_exists", 412, body={})
        assert (await ok(admin, "adminExists", controller="server")) == {"exists": True}
        anonymous_role = await ok(admin, "getRole", _id="anonymous")
        assert set(anonymous_role["_source"]["controllers"]) == {"auth", "server"}
        assert (await ok(admin, "getProfile", _id="default"))["_source"]["rateLimit"] == 10


async def test_role_granting_only_some_actions(own_server: ServerProcess) -> None:
    role_id, profile_id, username = uid("role"), uid("profile"), uid("login")
    async with kclient(own_server.ws_url) as setup:
        controllers = {"server": {"actions": {"now": True}}, "auth": {"actions": {"*": True}}}
        await ok(setup, "createRole", _id=role_id, body={"controllers": controllers})
        await ok(setup, "createProfile", _id=profile_id, body={"policies": [{"roleId": role_id}]})
        await ok(
            setup,
            "createUser",
            _id="limited",
            body={
                "content": {"profileIds": [profile_id]},
                "credentials": {"local": {"username": username, "password": PASSWORD}},
            },
        )
        await ok(setup, "restrictDefaultRights")
        await fails(setup, "getRole", "security.rights.unauthorized", 401, _id=role_id)
    async with kclient(own_server.ws_url) as user:
        kuid = await login(user, username)
        assert kuid == "limited"
        assert isinstance((await ok(user, "now", controller="server"))["now"], int)
        await ok(user, "getMyRights", controller="auth")
        error = await fails(user, "info", "security.rights.forbidden", 403, controller="server")
        assert error["props"] == ["server", "info", "limited"]
        await fails(user, "getUser", "security.rights.forbidden", 403, _id="limited")
        await fails(user, "nope", "security.rights.forbidden", 403, controller="nothing")


async def test_bootstrap_is_idempotent_across_restarts(tmp_path: Path) -> None:
    first = start_server(tmp_path, args=CHEAP_HASH)
    try:
        async with kclient(first.ws_url) as client:
            created = await ok(client, "getRole", _id="default")
            await ok(
                client,
                "createOrReplaceRole",
                _id="default",
                body={"controllers": {"server": {"actions": {"now": True}}}},
            )
    finally:
        first.stop()
    second = start_server(tmp_path, storage=first.storage, args=CHEAP_HASH)
    try:
        async with kclient(second.ws_url) as client:
            role = await ok(client, "getRole", _id="default")
            assert role["_source"]["controllers"] == {
                "server": {"actions": {"now": True}}
            }  # not reset at boot
            assert (
                role["_source"]["_kuzzle_info"]["createdAt"]
                == created["_source"]["_kuzzle_info"]["createdAt"]
            )
            roles = await ok(client, "searchRoles", body={})
            assert sorted(hit["_id"] for hit in roles["hits"]) == ["admin", "anonymous", "default"]
            profiles = await ok(client, "searchProfiles", body={})
            assert sorted(hit["_id"] for hit in profiles["hits"]) == ["admin", "anonymous", "default"]
    finally:
        second.stop()


async def test_reset_security(own_server: ServerProcess) -> None:
    async with kclient(own_server.ws_url) as client:
        await ok(client, "createRole", _id="r1", body={"controllers": {"server": {"actions": {"now": True}}}})
        await ok(client, "createProfile", _id="p1", body={"policies": [{"roleId": "r1"}]})
        for _ in range(2):
            await ok(client, "createUser", body={"content": {"profileIds": ["p1"]}})
        await ok(
            client,
            "createFirstAdmin",
            _id="boss",
            reset=True,
            body={"credentials": {"local": {"username": "boss", "password": PASSWORD}}},
        )
    async with kclient(own_server.ws_url) as admin:
        await login(admin, "boss")
        counts = await ok(admin, "resetSecurity", controller="admin")
        assert counts == {"deletedUsers": 3, "deletedProfiles": 1, "deletedRoles": 1}
    async with kclient(own_server.ws_url) as anonymous:
        # a fresh server again: anonymous may do everything, no admin, a first admin can be created
        assert (await ok(anonymous, "adminExists", controller="server")) == {"exists": False}
        await fails(anonymous, "getRole", "security.role.not_found", 404, _id="r1")
        assert (await ok(anonymous, "getRole", _id="anonymous"))["_source"]["controllers"] == {
            "*": {"actions": {"*": True}}
        }
        created = await ok(anonymous, "createFirstAdmin", body={})
        assert created["_source"]["profileIds"] == ["admin"]
