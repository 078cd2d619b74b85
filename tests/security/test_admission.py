"""The gate's per-connection admission memo, over WebSocket on a live server: every change that
must deny a request denies the very next one on a connection whose memo had admitted it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from tests.kclient import KClient, kclient
from tests.security.calls import fails, ok, uid
from tests.server_process import ServerProcess

PASSWORD = "Correct-Horse-9"
READER = {"security": {"actions": {"getUser": True}}, "auth": {"actions": {"*": True}}}
CLOCK = {"server": {"actions": {"now": True}}, "auth": {"actions": {"*": True}}}


async def _admin(client: KClient) -> None:
    await ok(
        client,
        "createFirstAdmin",
        _id="boss",
        body={"content": {}, "credentials": {"local": {"username": "boss", "password": PASSWORD}}},
    )
    client.jwt = (await ok(client, "login", controller="auth", strategy="local", body=_login("boss")))["jwt"]


def _login(username: str) -> dict[str, str]:
    return {"username": username, "password": PASSWORD}


async def _limited(admin: KClient, controllers: Mapping[str, object]) -> tuple[str, str, str]:
    """A user whose one profile's one role grants ``controllers``: (kuid, username, role id)."""
    role, profile, kuid = uid("role"), uid("profile"), uid("user")
    await ok(admin, "createRole", _id=role, body={"controllers": controllers})
    await ok(admin, "createProfile", _id=profile, body={"policies": [{"roleId": role}]})
    credentials = {"local": {"username": kuid, "password": PASSWORD}}
    await ok(
        admin, "createUser", _id=kuid, body={"content": {"profileIds": [profile]}, "credentials": credentials}
    )
    return kuid, kuid, role


async def _log_in(client: KClient, username: str, **args: object) -> str:
    client.jwt = None  # a revoked jwt would be refused, even on a login
    result = await ok(client, "login", controller="auth", strategy="local", body=_login(username), **args)
    client.jwt = result["jwt"]
    jwt: str = result["jwt"]
    return jwt


async def _primed(admin: KClient, user: KClient) -> tuple[str, str, str]:
    """The first admin on ``admin``, a user that may read users logged in on ``user`` and admitted
    once already: (kuid, username, its role id)."""
    await _admin(admin)
    kuid, username, role = await _limited(admin, READER)
    await _log_in(user, username)
    await _admitted_twice(user, kuid)
    return kuid, username, role


async def _admitted_twice(client: KClient, kuid: str) -> None:
    for _ in range(2):  # the second one is admitted from the connection's memo
        assert (await ok(client, "getUser", _id=kuid))["_id"] == kuid


async def test_role_profile_and_user_changes_deny_the_next_request(own_server: ServerProcess) -> None:
    async with kclient(own_server.ws_url) as admin, kclient(own_server.ws_url) as user:
        kuid, _, role = await _primed(admin, user)
        await ok(admin, "updateRole", _id=role, body={"controllers": CLOCK})
        await fails(user, "getUser", "security.rights.forbidden", 403, _id=kuid)
        await ok(user, "now", controller="server")

        await ok(admin, "updateRole", _id=role, body={"controllers": READER})
        other_role, other_profile = uid("role"), uid("profile")
        await ok(admin, "createRole", _id=other_role, body={"controllers": CLOCK})
        await ok(admin, "createProfile", _id=other_profile, body={"policies": [{"roleId": other_role}]})
        await _admitted_twice(user, kuid)  # after the writes above, which changed the role cache
        await ok(admin, "updateUser", _id=kuid, body={"profileIds": [other_profile]})
        await fails(user, "getUser", "security.rights.forbidden", 403, _id=kuid)

        await ok(admin, "updateUser", _id=kuid, body={"profileIds": [other_profile, "admin"]})
        await _admitted_twice(user, kuid)
        await ok(admin, "deleteUser", _id=kuid)
        await fails(user, "getUser", "security.token.invalid", 401, _id="boss")


async def test_logout_and_revocation_deny_the_next_request(own_server: ServerProcess) -> None:
    async with kclient(own_server.ws_url) as admin, kclient(own_server.ws_url) as user:
        kuid, username, _ = await _primed(admin, user)
        await ok(user, "logout", controller="auth")
        await fails(user, "getUser", "security.token.invalid", 401, _id=kuid)

        await _log_in(user, username)
        await _admitted_twice(user, kuid)
        await ok(admin, "revokeTokens", _id=kuid)
        await fails(user, "getUser", "security.token.invalid", 401, _id=kuid)


async def test_a_token_expires_on_time_on_a_connection_that_used_it(own_server: ServerProcess) -> None:
    async with kclient(own_server.ws_url) as admin, kclient(own_server.ws_url) as user:
        await _admin(admin)
        kuid, username, _ = await _limited(admin, READER)
        result = await ok(
            user, "login", controller="auth", strategy="local", body=_login(username), expiresIn="3s"
        )
        user.jwt = result["jwt"]
        expires = (
            time.time() + (result["expiresAt"] - (await ok(admin, "now", controller="server"))["now"]) / 1000
        )
        # Used all along: the token's verification is cached again each second, past its expiry,
        # so only the expiry itself can end the admission on time.
        while time.time() < expires - 0.1:
            assert (await ok(user, "getUser", _id=kuid))["_id"] == kuid
            await asyncio.sleep(0.05)
        await asyncio.sleep(max(0.0, expires - time.time()) + 0.02)
        await fails(user, "getUser", "security.token.expired", 401, _id=kuid)


async def test_anonymous_rights_change_denies_the_next_request(own_server: ServerProcess) -> None:
    async with kclient(own_server.ws_url) as admin, kclient(own_server.ws_url) as anonymous:
        await _admin(admin)
        await ok(admin, "restrictDefaultRights")
        await ok(admin, "updateRole", _id="anonymous", body={"controllers": CLOCK})
        for _ in range(2):
            await ok(anonymous, "now", controller="server")
        await ok(
            admin, "updateRole", _id="anonymous", body={"controllers": {"auth": {"actions": {"*": True}}}}
        )
        await fails(anonymous, "now", "security.rights.unauthorized", 401, controller="server")


async def test_an_index_restriction_is_checked_on_every_request(own_server: ServerProcess) -> None:
    role, profile, kuid = uid("role"), uid("profile"), uid("user")
    async with kclient(own_server.ws_url) as admin, kclient(own_server.ws_url) as user:
        await _admin(admin)
        controllers = {"realtime": {"actions": {"*": True}}, "auth": {"actions": {"*": True}}}
        await ok(admin, "createRole", _id=role, body={"controllers": controllers})
        policy = {"roleId": role, "restrictedTo": [{"index": "allowed"}]}
        await ok(admin, "createProfile", _id=profile, body={"policies": [policy]})
        credentials = {"local": {"username": kuid, "password": PASSWORD}}
        await ok(
            admin,
            "createUser",
            _id=kuid,
            body={"content": {"profileIds": [profile]}, "credentials": credentials},
        )
        await _log_in(user, kuid)
        subscribe = {"controller": "realtime", "action": "subscribe", "collection": "c", "body": {}}
        for _ in range(2):
            reply = await user.query({**subscribe, "index": "allowed"})
            assert reply["status"] == 200, reply["error"]
        reply = await user.query({**subscribe, "index": "other"})
        assert (reply["status"], reply["error"]["id"]) == (403, "security.rights.forbidden")
