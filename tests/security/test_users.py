"""security user actions: create (ids, credentials), get, mGet, update, replace, delete, rights, mappings."""

from __future__ import annotations

import re

import httpx

from tests.kclient import kclient
from tests.security.calls import fails, new_user, ok, uid
from tests.server_process import ServerProcess


async def test_create_with_and_without_id(secserver: ServerProcess) -> None:
    kuid = uid("user")
    async with kclient(secserver.ws_url) as client:
        created = await ok(
            client, "createUser", _id=kuid, body={"content": {"profileIds": ["default"], "name": "Ada"}}
        )
        assert created["_id"] == kuid
        source = created["_source"]
        assert source["name"] == "Ada"
        assert source["profileIds"] == ["default"]
        assert source["_kuzzle_info"]["author"] == "-1"
        assert source["_kuzzle_info"]["updatedAt"] is None
        assert "credentials" not in source
        human = await ok(client, "createUser", body={"content": {"profileIds": ["default"]}})
        assert re.fullmatch(r"kuid-[a-z]+-[a-z]+-\d{1,5}", human["_id"]), human["_id"]
        uuid = await ok(
            client, "createUser", kuid="uuid", _id=None, body={"content": {"profileIds": ["default"]}}
        )
        assert re.fullmatch(r"kuid-[0-9a-f-]{36}", uuid["_id"]), uuid["_id"]
        await fails(
            client,
            "createUser",
            "security.user.already_exists",
            412,
            _id=kuid,
            body={"content": {"profileIds": ["default"]}},
        )


async def test_create_errors(secserver: ServerProcess) -> None:
    async with kclient(secserver.ws_url) as client:
        bad: list[tuple[dict[str, object], str, int]] = [
            ({"content": {"profileIds": ["no-such-profile"]}}, "security.profile.not_found", 404),
            ({"content": {"profileIds": "default"}}, "api.assert.invalid_type", 400),
            ({"content": {}}, "api.assert.missing_argument", 400),
            ({"content": {"profileIds": []}}, "api.assert.empty_argument", 400),
            ({}, "api.assert.missing_argument", 400),
            ({"content": {"profileIds": ["default"], "a.b": 1}}, "api.assert.invalid_argument", 400),
            (
                {"content": {"profileIds": ["default"]}, "credentials": {"nope": {}}},
                "security.credentials.unknown_strategy",
                400,
            ),
        ]
        for body, error_id, status in bad:
            await fails(client, "createUser", error_id, status, _id=uid("bad"), body=body)
        await fails(
            client,
            "createUser",
            "security.user.anonymous_profile_required",
            400,
            _id="-1",
            body={"content": {"profileIds": ["default"]}},
        )


async def test_credentials_are_stored_in_the_same_write(secserver: ServerProcess) -> None:
    kuid, username = uid("user"), uid("login")
    credentials = {"local": {"username": username, "password": "s3cret-Passw0rd"}}
    async with kclient(secserver.ws_url) as client:
        created = await ok(
            client,
            "createUser",
            _id=kuid,
            body={"content": {"profileIds": ["default"]}, "credentials": credentials},
        )
        assert "credentials" not in created["_source"]
        assert await ok(client, "getUserStrategies", _id=kuid) == {"strategies": ["local"], "total": 1}
        login = await ok(client, "login", controller="auth", strategy="local", body=credentials["local"])
        assert login["_id"] == kuid
        # a taken username: rejected, and no user is left behind
        other = uid("user")
        await fails(
            client,
            "createUser",
            "security.credentials.rejected",
            400,
            _id=other,
            body={"content": {"profileIds": ["default"]}, "credentials": credentials},
        )
        await fails(client, "getUser", "security.user.not_found", 404, _id=other)
        # a rejected credential (no password): nothing left behind either
        await fails(
            client,
            "createUser",
            "api.assert.missing_argument",
            400,
            _id=other,
            body={"content": {"profileIds": ["default"]}, "credentials": {"local": {"username": uid("l")}}},
        )
        await fails(client, "getUser", "security.user.not_found", 404, _id=other)
        searched = await ok(client, "searchUsers", body={"query": {"ids": {"values": [kuid]}}})
        assert "credentials" not in searched["hits"][0]["_source"]


async def test_restricted_user(secserver: ServerProcess) -> None:
    async with kclient(secserver.ws_url) as client:
        created = await ok(client, "createRestrictedUser", _id=None, body={"content": {"name": "R"}})
        assert created["_source"]["profileIds"] == ["default"]
        assert created["_source"]["name"] == "R"
        bare = await ok(client, "createRestrictedUser", body={})
        assert bare["_source"]["profileIds"] == ["default"]
        await fails(
            client,
            "createRestrictedUser",
            "api.assert.forbidden_argument",
            400,
            body={"content": {"profileIds": ["admin"]}},
        )


async def test_get_anonymous_and_mget(secserver: ServerProcess) -> None:
    async with kclient(secserver.ws_url) as client:
        for anonymous in ("-1", "anonymous"):
            got = await ok(client, "getUser", _id=anonymous)
            assert got == {"_id": "-1", "_source": {"name": "Anonymous", "profileIds": ["anonymous"]}}
        await fails(client, "getUser", "security.user.not_found", 404, _id=uid("nope"))
        a, b = await new_user(client), await new_user(client)
        hits = (await ok(client, "mGetUsers", body={"ids": [a, "missing", b]}))["hits"]
        assert [hit["_id"] for hit in hits] == [a, b]  # unknown ids are skipped
        by_arg = (await ok(client, "mGetUsers", ids=f"{a},{b}"))["hits"]
        assert [hit["_id"] for hit in by_arg] == [a, b]


async def test_update_replace_delete(secserver: ServerProcess) -> None:
    async with kclient(secserver.ws_url) as client:
        kuid = await new_user(client, name="Ada", team="a")
        before = (await ok(client, "getUser", _id=kuid))["_source"]
        updated = await ok(client, "updateUser", _id=kuid, body={"team": "b", "age": 36})
        source = updated["_source"]
        assert (source["name"], source["team"], source["age"]) == ("Ada", "b", 36)
        assert source["_kuzzle_info"]["createdAt"] == before["_kuzzle_info"]["createdAt"]
        assert source["_kuzzle_info"]["updater"] == "-1"
        assert isinstance(source["_kuzzle_info"]["updatedAt"], int)
        with_profiles = await ok(client, "updateUser", _id=kuid, body={"profileIds": ["default", "admin"]})
        assert with_profiles["_source"]["profileIds"] == ["default", "admin"]
        await fails(
            client, "updateUser", "security.profile.not_found", 404, _id=kuid, body={"profileIds": ["zz"]}
        )
        await fails(
            client, "updateUser", "api.assert.invalid_type", 400, _id=kuid, body={"profileIds": "admin"}
        )
        await fails(client, "updateUser", "security.user.not_found", 404, _id=uid("nope"), body={"a": 1})
        replaced = await ok(
            client, "replaceUser", _id=kuid, body={"profileIds": ["default"], "name": "Grace"}
        )
        source = replaced["_source"]
        assert "team" not in source
        assert source["name"] == "Grace"
        assert source["profileIds"] == ["default"]
        assert source["_kuzzle_info"]["createdAt"] == before["_kuzzle_info"]["createdAt"]
        await fails(client, "replaceUser", "api.assert.missing_argument", 400, _id=kuid, body={"name": "x"})
        await fails(
            client,
            "replaceUser",
            "security.user.not_found",
            404,
            _id=uid("nope"),
            body={"profileIds": ["default"]},
        )
        await fails(
            client,
            "updateUser",
            "security.user.anonymous_profile_required",
            400,
            _id="-1",
            body={"profileIds": ["admin"]},
        )
        assert await ok(client, "deleteUser", _id=kuid) == {"_id": kuid}
        await fails(client, "getUser", "security.user.not_found", 404, _id=kuid)
        await fails(client, "deleteUser", "security.user.not_found", 404, _id=kuid)


async def test_mdelete_users(secserver: ServerProcess) -> None:
    async with kclient(secserver.ws_url) as client:
        ids = [await new_user(client) for _ in range(3)]
        assert sorted(await ok(client, "mDeleteUsers", body={"ids": ids[:2]})) == sorted(ids[:2])
        error = await fails(
            client,
            "mDeleteUsers",
            "services.storage.incomplete_delete",
            206,
            body={"ids": [ids[2], "missing"]},
        )
        assert error["errors"][0]["id"] == "security.user.not_found"
        await fails(client, "getUser", "security.user.not_found", 404, _id=ids[2])
        partial = await client.query(
            {"controller": "security", "action": "mDeleteUsers", "body": {"ids": [ids[0], "missing"]}}
        )
        assert partial["status"] == 206
        assert partial["result"] == []  # ids[0] was already gone: nothing deleted, reported beside the error
        fresh = await new_user(client)
        partial = await client.query(
            {"controller": "security", "action": "mDeleteUsers", "body": {"ids": [fresh, "missing"]}}
        )
        assert partial["status"] == 206
        assert partial["result"] == [fresh]


async def test_user_rights_and_check_rights(secserver: ServerProcess) -> None:
    role_id, profile_id = uid("role"), uid("profile")
    async with kclient(secserver.ws_url) as client:
        await ok(
            client, "createRole", _id=role_id, body={"controllers": {"document": {"actions": {"get": True}}}}
        )
        restricted = [{"roleId": role_id, "restrictedTo": [{"index": "books", "collections": ["fiction"]}]}]
        await ok(client, "createProfile", _id=profile_id, body={"policies": restricted})
        kuid = await new_user(client, profileIds=[profile_id])
        rights = await ok(client, "getUserRights", _id=kuid)
        assert rights == {
            "hits": [
                {
                    "controller": "document",
                    "action": "get",
                    "index": "books",
                    "collection": "fiction",
                    "value": "allowed",
                }
            ],
            "total": 1,
        }

        async def allowed(**payload: object) -> bool:
            result = await ok(client, "checkRights", userId=kuid, body=payload)
            return bool(result["allowed"])

        assert await allowed(controller="document", action="get", index="books", collection="fiction")
        assert await allowed(controller="document", action="get")  # no index: restrictions ignored
        assert not await allowed(controller="document", action="get", index="books", collection="poetry")
        assert not await allowed(controller="document", action="get", index="films", collection="fiction")
        assert not await allowed(controller="document", action="create", index="books", collection="fiction")
        assert await allowed(
            controller="document", action="get", targets=[{"index": "books", "collections": ["fiction"]}]
        )
        assert not await allowed(
            controller="document", action="get", targets=[{"index": "books", "collections": ["f*"]}]
        )
        await fails(
            client, "checkRights", "api.assert.missing_argument", 400, userId=kuid, body={"action": "get"}
        )
        await fails(
            client,
            "checkRights",
            "security.user.not_found",
            404,
            userId=uid("nope"),
            body={"controller": "a", "action": "b"},
        )
        anonymous = await ok(client, "getUserRights", _id="-1")
        assert {
            "controller": "*",
            "action": "*",
            "index": "*",
            "collection": "*",
            "value": "allowed",
        } in anonymous["hits"]


async def test_strategies_mappings_refresh(secserver: ServerProcess) -> None:
    async with kclient(secserver.ws_url) as client:
        kuid = await new_user(client)
        assert await ok(client, "getUserStrategies", _id=kuid) == {"strategies": [], "total": 0}
        assert await ok(client, "getUserStrategies", _id="-1") == {"strategies": [], "total": 0}
        await fails(client, "getUserStrategies", "security.user.not_found", 404, _id=uid("nope"))
        mapping = await ok(client, "getUserMapping")
        assert mapping == {"mapping": {"profileIds": {"type": "keyword"}}}
        await ok(client, "updateUserMapping", body={"properties": {"age": {"type": "integer"}}})
        assert (await ok(client, "getUserMapping"))["mapping"]["age"] == {"type": "integer"}
        assert "policies" in (await ok(client, "getProfileMapping"))["mapping"]
        assert "controllers" in (await ok(client, "getRoleMapping"))["mapping"]
        for collection in ("users", "profiles", "roles"):
            assert await ok(client, "refresh", collection=collection) is None
        await fails(client, "refresh", "api.assert.unexpected_argument", 400, collection="documents")


async def test_users_over_http(secserver: ServerProcess) -> None:
    kuid = uid("user")
    async with httpx.AsyncClient(base_url=secserver.http_url) as http:
        created = await http.post(
            f"/users/{kuid}/_create", json={"content": {"profileIds": ["default"], "n": 1}}
        )
        assert created.status_code == 200, created.text
        updated = await http.put(f"/users/{kuid}/_update", json={"n": 2})
        assert updated.json()["result"]["_source"]["n"] == 2
        got = await http.get(f"/users/{kuid}")
        assert got.json()["result"]["_source"]["n"] == 2
        posted = await http.post("/users/_search", json={"query": {"term": {"n": 2}}})
        assert kuid in [hit["_id"] for hit in posted.json()["result"]["hits"]]
        missing = await http.get(f"/users/{uid('nope')}")
        assert missing.status_code == 404
        assert missing.json()["error"]["id"] == "security.user.not_found"
        deleted = await http.delete(f"/users/{kuid}")
        assert deleted.json()["result"] == {"_id": kuid}
