"""security:*Profile* actions: policies validation, restrictedTo, merge updates, deletion modes, search."""

from __future__ import annotations

from typing import Any

import httpx

from tests.kclient import kclient
from tests.security.calls import fails, new_user, ok, uid
from tests.server_process import ServerProcess

DEFAULT_POLICY = {"policies": [{"roleId": "default"}]}


async def test_create_get_shapes_and_defaults(secserver: ServerProcess) -> None:
    profile_id = uid("profile")
    async with kclient(secserver.ws_url) as client:
        body = {
            "policies": [{"roleId": "default", "restrictedTo": [{"index": "i", "collections": ["c"]}]}],
            "x": 1,
        }
        created = await ok(client, "createProfile", _id=profile_id, body=body)
        source = created["_source"]
        assert created["_id"] == profile_id
        assert source["policies"] == body["policies"]
        assert source["x"] == 1
        assert source["rateLimit"] == 0
        assert source["_kuzzle_info"]["author"] == "-1"
        assert "optimizedPolicies" not in source
        assert await ok(client, "getProfile", _id=profile_id) == created
        await fails(
            client,
            "createProfile",
            "services.storage.document_already_exists",
            400,
            _id=profile_id,
            body=body,
        )
        empty = await ok(client, "createProfile", _id=uid("profile"), body={"policies": []})
        assert empty["_source"]["policies"] == [{"roleId": "default"}]  # Kuzzle's silent default
        await fails(client, "getProfile", "security.profile.not_found", 404, _id=uid("nope"))


async def test_validation_errors(secserver: ServerProcess) -> None:
    cases: list[tuple[Any, str, int]] = [
        ({}, "api.assert.missing_argument", 400),
        ({"policies": "admin"}, "api.assert.invalid_type", 400),
        ({"policies": [{}]}, "api.assert.missing_argument", 400),
        ({"policies": [{"roleId": "default", "extra": 1}]}, "api.assert.unexpected_argument", 400),
        ({"policies": [{"roleId": "default", "restrictedTo": {}}]}, "api.assert.invalid_type", 400),
        (
            {"policies": [{"roleId": "default", "restrictedTo": [{"collections": ["c"]}]}]},
            "api.assert.missing_argument",
            400,
        ),
        (
            {"policies": [{"roleId": "default", "restrictedTo": [{"index": "i", "collections": "c"}]}]},
            "api.assert.invalid_type",
            400,
        ),
        (
            {"policies": [{"roleId": "default", "restrictedTo": [{"index": "i", "x": 1}]}]},
            "api.assert.unexpected_argument",
            400,
        ),
        ({"policies": [{"roleId": "no-such-role"}]}, "security.role.not_found", 404),
        ({**DEFAULT_POLICY, "rateLimit": 1.5}, "api.assert.invalid_type", 400),
        ({**DEFAULT_POLICY, "rateLimit": -1}, "api.assert.invalid_argument", 400),
    ]
    async with kclient(secserver.ws_url) as client:
        for body, error_id, status in cases:
            await fails(client, "createProfile", error_id, status, _id=uid("bad"), body=body)
        await fails(
            client,
            "createOrReplaceProfile",
            "security.profile.missing_anonymous_role",
            400,
            _id="anonymous",
            body=DEFAULT_POLICY,
        )


async def test_update_merges_top_level(secserver: ServerProcess) -> None:
    profile_id = uid("profile")
    async with kclient(secserver.ws_url) as client:
        created = await ok(
            client, "createProfile", _id=profile_id, body={**DEFAULT_POLICY, "rateLimit": 5, "label": "a"}
        )
        updated = await ok(client, "updateProfile", _id=profile_id, body={"label": "b"})
        source = updated["_source"]
        assert source["label"] == "b"
        assert source["rateLimit"] == 5
        assert source["policies"] == DEFAULT_POLICY["policies"]
        info = source["_kuzzle_info"]
        assert info["createdAt"] == created["_source"]["_kuzzle_info"]["createdAt"]
        assert info["updater"] == "-1"
        assert isinstance(info["updatedAt"], int)
        await fails(
            client,
            "updateProfile",
            "security.role.not_found",
            404,
            _id=profile_id,
            body={"policies": [{"roleId": "zz"}]},
        )
        await fails(
            client, "updateProfile", "security.profile.not_found", 404, _id=uid("nope"), body={"label": "c"}
        )


async def test_delete_modes(secserver: ServerProcess) -> None:
    profile_id = uid("profile")
    async with kclient(secserver.ws_url) as client:
        for builtin in ("admin", "default", "anonymous"):
            await fails(client, "deleteProfile", "security.profile.cannot_delete", 400, _id=builtin)
        await ok(client, "createProfile", _id=profile_id, body=DEFAULT_POLICY)
        only = await new_user(client, profileIds=[profile_id])
        both = await new_user(client, profileIds=[profile_id, "default"])
        await fails(client, "deleteProfile", "security.profile.in_use", 412, _id=profile_id)
        await fails(
            client, "deleteProfile", "api.assert.invalid_argument", 400, _id=profile_id, onAssignedUsers="x"
        )
        assert await ok(client, "deleteProfile", _id=profile_id, onAssignedUsers="remove") == {
            "_id": profile_id
        }
        assert (await ok(client, "getUser", _id=only))["_source"]["profileIds"] == ["anonymous"]
        assert (await ok(client, "getUser", _id=both))["_source"]["profileIds"] == ["default"]
        await fails(client, "getProfile", "security.profile.not_found", 404, _id=profile_id)


async def test_mget_mdelete(secserver: ServerProcess) -> None:
    ids = [uid("profile") for _ in range(3)]
    async with kclient(secserver.ws_url) as client:
        for profile_id in ids:
            await ok(client, "createProfile", _id=profile_id, body=DEFAULT_POLICY)
        hits = (await ok(client, "mGetProfiles", body={"ids": ids}))["hits"]
        assert [hit["_id"] for hit in hits] == ids
        await fails(
            client, "mGetProfiles", "security.profile.not_found", 404, body={"ids": [ids[0], "missing"]}
        )
        assert sorted(await ok(client, "mDeleteProfiles", body={"ids": ids})) == sorted(ids)


async def test_search_and_scroll_profiles(secserver: ServerProcess) -> None:
    role_id, tag = uid("role"), uid("tag")
    async with kclient(secserver.ws_url) as client:
        await ok(
            client, "createRole", _id=role_id, body={"controllers": {"server": {"actions": {"now": True}}}}
        )
        ids = [uid("profile") for _ in range(5)]
        for profile_id in ids:
            await ok(
                client, "createProfile", _id=profile_id, body={"policies": [{"roleId": role_id}], "tag": tag}
            )
        by_roles = await ok(client, "searchProfiles", body={"roles": [role_id]})
        assert sorted(hit["_id"] for hit in by_roles["hits"]) == sorted(ids)
        assert by_roles["total"] == 5
        by_term = await ok(client, "searchProfiles", body={"query": {"term": {"policies.roleId": role_id}}})
        assert by_term["total"] == 5
        first = await ok(
            client,
            "searchProfiles",
            body={"query": {"term": {"tag": tag}}, "sort": ["_id"]},
            size=2,
            scroll="10s",
        )
        assert [hit["_id"] for hit in first["hits"]] == sorted(ids)[:2]
        assert first["total"] == 5
        seen = [hit["_id"] for hit in first["hits"]]
        scroll_id = first["scrollId"]
        while len(seen) < 5:
            page = await ok(client, "scrollProfiles", scrollId=scroll_id, scroll="10s")
            assert page["hits"]
            assert page["total"] == 5
            seen += [hit["_id"] for hit in page["hits"]]
        assert seen == sorted(ids)
        await fails(client, "scrollProfiles", "services.storage.unknown_scroll_id", 404, scrollId=scroll_id)
        await fails(
            client, "searchProfiles", "api.assert.mutually_exclusive", 400, body={"roles": [], "query": {}}
        )


async def test_profile_rights_listing(secserver: ServerProcess) -> None:
    role_a, role_b, profile_id = uid("role"), uid("role"), uid("profile")
    async with kclient(secserver.ws_url) as client:
        await ok(
            client,
            "createRole",
            _id=role_a,
            body={"controllers": {"server": {"actions": {"now": True, "info": False}}}},
        )
        await ok(
            client, "createRole", _id=role_b, body={"controllers": {"server": {"actions": {"info": True}}}}
        )
        policies = [
            {"roleId": role_a},
            {"roleId": role_b, "restrictedTo": [{"index": "i1", "collections": ["c1", "c2"]}]},
        ]
        await ok(client, "createProfile", _id=profile_id, body={"policies": policies})
        result = await ok(client, "getProfileRights", _id=profile_id)
        items = {
            (h["controller"], h["action"], h["index"], h["collection"]): h["value"] for h in result["hits"]
        }
        assert items == {
            ("server", "now", "*", "*"): "allowed",
            ("server", "info", "*", "*"): "denied",
            ("server", "info", "i1", "c1"): "allowed",
            ("server", "info", "i1", "c2"): "allowed",
        }
        assert result["total"] == 4
        await fails(client, "getProfileRights", "security.profile.not_found", 404, _id=uid("nope"))


async def test_profiles_over_http(secserver: ServerProcess) -> None:
    profile_id = uid("profile")
    async with httpx.AsyncClient(base_url=secserver.http_url) as http:
        created = await http.put(f"/profiles/{profile_id}", json=DEFAULT_POLICY)
        assert created.status_code == 200, created.text
        got = await http.get(f"/profiles/{profile_id}")
        assert got.json()["result"]["_source"]["policies"] == DEFAULT_POLICY["policies"]
        search = await http.post("/profiles/_search", json={"query": {"ids": {"values": [profile_id]}}})
        assert search.json()["result"]["total"] == 1
        deleted = await http.delete(f"/profiles/{profile_id}")
        assert deleted.json()["result"] == {"_id": profile_id}
