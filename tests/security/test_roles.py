"""security:*Role* actions: validation as Kuzzle, result shapes, _kuzzle_info, deletion rules, search."""

from __future__ import annotations

from typing import Any

import httpx

from tests.kclient import kclient
from tests.security.calls import fails, offset, ok, uid
from tests.server_process import ServerProcess

NOW_ONLY = {"controllers": {"server": {"actions": {"now": True}}}}


async def test_create_get_and_shapes(secserver: ServerProcess) -> None:
    role_id = uid("role")
    async with kclient(secserver.ws_url) as client:
        created = await ok(client, "createRole", _id=role_id, body={**NOW_ONLY, "tags": ["x"]})
        assert created["_id"] == role_id
        source = created["_source"]
        assert source["controllers"] == NOW_ONLY["controllers"]
        assert source["tags"] == ["x"]
        info = source["_kuzzle_info"]
        assert info["author"] == "-1"
        assert isinstance(info["createdAt"], int)
        assert info["updatedAt"] is None
        assert info["updater"] is None
        assert await ok(client, "getRole", _id=role_id) == created
        await fails(
            client, "createRole", "services.storage.document_already_exists", 400, _id=role_id, body=NOW_ONLY
        )
        await fails(client, "getRole", "security.role.not_found", 404, _id=uid("nope"))


async def test_update_is_a_replace_keeping_creation_info(secserver: ServerProcess) -> None:
    role_id = uid("role")
    async with kclient(secserver.ws_url) as client:
        created = await ok(client, "createRole", _id=role_id, body={**NOW_ONLY, "tags": ["x"]})
        new = {"controllers": {"auth": {"actions": {"login": True}}}}
        updated = await ok(client, "updateRole", _id=role_id, body=new)
        assert updated["_source"]["controllers"] == new["controllers"]
        assert "tags" not in updated["_source"]  # a full replace, as Kuzzle
        info = updated["_source"]["_kuzzle_info"]
        assert info["createdAt"] == created["_source"]["_kuzzle_info"]["createdAt"]
        assert info["updater"] == "-1"
        assert isinstance(info["updatedAt"], int)
        await fails(client, "updateRole", "security.role.not_found", 404, _id=uid("nope"), body=new)
        replaced = await ok(client, "createOrReplaceRole", _id=role_id, body=NOW_ONLY)
        assert replaced["_source"]["controllers"] == NOW_ONLY["controllers"]
        fresh = await ok(client, "createOrReplaceRole", _id=uid("role"), body=NOW_ONLY)
        assert fresh["_source"]["_kuzzle_info"]["updatedAt"] is None


async def test_validation_errors(secserver: ServerProcess) -> None:
    cases: list[tuple[Any, str]] = [
        ({}, "api.assert.missing_argument"),
        ({"controllers": []}, "api.assert.invalid_type"),
        ({"controllers": {}}, "api.assert.empty_argument"),
        ({"controllers": {"server": {}}}, "api.assert.empty_argument"),
        ({"controllers": {"server": {"foo": 1}}}, "api.assert.missing_argument"),
        ({"controllers": {"server": {"actions": {}}}}, "api.assert.empty_argument"),
        ({"controllers": {"server": {"actions": {"now": "yes"}}}}, "api.assert.invalid_type"),
        ({"controllers": {"server": {"actions": {"nope": True}}}}, "security.role.unknown_action"),
        ({"controllers": {"*": {"actions": {"now": True}}}}, "security.role.unknown_action"),
        ({"controllers": {"myPlugin": {"actions": {"x": True}}}}, "security.role.unknown_controller"),
    ]
    async with kclient(secserver.ws_url) as client:
        for body, error_id in cases:
            await fails(client, "createRole", error_id, 400, _id=uid("bad"), body=body)
        forced = await ok(
            client,
            "createRole",
            _id=uid("forced"),
            force=True,
            body={"controllers": {"myPlugin": {"actions": {"x": True}}}},
        )
        assert "myPlugin" in forced["_source"]["controllers"]
        # a Kuzzle action kserver does not serve yet is still a known action
        await ok(
            client,
            "createRole",
            _id=uid("doc"),
            body={"controllers": {"document": {"actions": {"mGet": True}}}},
        )
        error = await fails(
            client,
            "createRole",
            "security.role.unknown_action",
            400,
            _id="r",
            body={"controllers": {"server": {"actions": {"nowx": True}}}},
        )
        assert error["props"][:3] == ["r", "nowx", "server"]
        await fails(
            client, "createOrReplaceRole", "security.role.login_required", 400, _id="anonymous", body=NOW_ONLY
        )
        await fails(client, "createRole", "api.assert.body_required", 400, _id=uid("r"))


async def test_delete_rules(secserver: ServerProcess) -> None:
    role_id, profile_id = uid("role"), uid("profile")
    async with kclient(secserver.ws_url) as client:
        for builtin in ("admin", "default", "anonymous"):
            await fails(client, "deleteRole", "security.role.cannot_delete", 400, _id=builtin)
        await ok(client, "createRole", _id=role_id, body=NOW_ONLY)
        await ok(client, "createProfile", _id=profile_id, body={"policies": [{"roleId": role_id}]})
        await fails(client, "deleteRole", "security.role.in_use", 412, _id=role_id)
        await ok(client, "deleteProfile", _id=profile_id)
        assert await ok(client, "deleteRole", _id=role_id) == {"_id": role_id}
        await fails(client, "getRole", "security.role.not_found", 404, _id=role_id)
        await fails(client, "deleteRole", "security.role.not_found", 404, _id=role_id)


async def test_mget_and_mdelete(secserver: ServerProcess) -> None:
    ids = [uid("role") for _ in range(3)]
    async with kclient(secserver.ws_url) as client:
        for role_id in ids:
            await ok(client, "createRole", _id=role_id, body=NOW_ONLY)
        hits = (await ok(client, "mGetRoles", body={"ids": ids}))["hits"]
        assert [hit["_id"] for hit in hits] == ids
        assert all(hit["_source"]["controllers"] == NOW_ONLY["controllers"] for hit in hits)
        await fails(
            client, "mGetRoles", "security.role.not_found", 404, body={"ids": [ids[0], "missing-role"]}
        )
        deleted = await ok(client, "mDeleteRoles", body={"ids": ids[:2]})
        assert sorted(deleted) == sorted(ids[:2])
        error = await fails(
            client, "mDeleteRoles", "services.storage.incomplete_delete", 206, body={"ids": [ids[2], "admin"]}
        )
        assert error["count"] == 1
        assert error["errors"][0]["id"] == "security.role.cannot_delete"
        await fails(client, "getRole", "security.role.not_found", 404, _id=ids[2])
        too_many = {"ids": [f"r{i}" for i in range(201)]}
        await fails(client, "mDeleteRoles", "services.storage.write_limit_exceeded", 413, body=too_many)


async def test_search_roles(secserver: ServerProcess) -> None:
    tag = uid("tag")
    realtime, server = uid("role"), uid("role")
    async with kclient(secserver.ws_url) as client:
        await ok(
            client,
            "createRole",
            _id=realtime,
            body={"controllers": {"realtime": {"actions": {"*": True}}}, "tag": tag},
        )
        await ok(client, "createRole", _id=server, body={**NOW_ONLY, "tag": tag})
        result = await ok(client, "searchRoles", body={"controllers": ["realtime"]})
        found = {hit["_id"] for hit in result["hits"]}
        assert realtime in found
        assert server not in found
        assert {"admin", "default", "anonymous"} <= found  # they grant "*"
        assert result["total"] == len(result["hits"])
        by_query = await ok(client, "searchRoles", body={"query": {"term": {"tag": tag}}})
        assert {hit["_id"] for hit in by_query["hits"]} == {realtime, server}
        assert by_query["total"] == 2
        page = await ok(client, "searchRoles", body={"query": {"term": {"tag": tag}}}, size=1, **offset(1))
        assert page["total"] == 2
        assert len(page["hits"]) == 1
        everything = await ok(client, "searchRoles", body={})
        assert everything["total"] >= 5
        await fails(
            client,
            "searchRoles",
            "api.assert.mutually_exclusive",
            400,
            body={"controllers": ["x"], "query": {}},
        )


async def test_roles_over_http(secserver: ServerProcess) -> None:
    role_id = uid("role")
    async with httpx.AsyncClient(base_url=secserver.http_url) as http:
        created = await http.post(f"/roles/{role_id}/_create", json=NOW_ONLY)
        assert created.status_code == 200, created.text
        got = await http.get(f"/roles/{role_id}")
        assert got.json()["result"]["_id"] == role_id
        updated = await http.put(
            f"/roles/{role_id}/_update", json={"controllers": {"auth": {"actions": {"*": True}}}}
        )
        assert updated.json()["result"]["_source"]["controllers"] == {"auth": {"actions": {"*": True}}}
        missing = await http.get("/roles/does-not-exist")
        assert missing.status_code == 404
        assert missing.json()["error"]["id"] == "security.role.not_found"
        deleted = await http.delete(f"/roles/{role_id}")
        assert deleted.json()["result"] == {"_id": role_id}
