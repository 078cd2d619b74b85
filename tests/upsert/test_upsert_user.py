"""security:upsertUser over WebSocket and HTTP: semantics, errors, identity keys, HTTP answers."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from tests.kclient import KClient, kclient
from tests.server_process import ServerProcess

_n = itertools.count()


def uid(prefix: str = "u") -> str:
    return f"{prefix}-{next(_n)}"


async def upsert(client: KClient, body: dict[str, Any], **args: Any) -> dict[str, Any]:
    return await client.query({"controller": "security", "action": "upsertUser", "body": body, **args})


async def test_insert_then_partial_update(server: ServerProcess) -> None:
    kuid = uid()
    async with kclient(server.ws_url) as client:
        first = await upsert(
            client,
            {"content": {"profileIds": ["default"], "name": "Ada", "team": "a"}, "default": {"plan": "free"}},
            _id=kuid,
        )
        assert first["status"] == 200, first["error"]
        result = first["result"]
        assert result["_id"] == kuid
        assert result["created"] is True
        assert result["_source"]["name"] == "Ada"
        assert result["_source"]["plan"] == "free"
        info = result["_source"]["_kuzzle_info"]
        assert info["author"] == "-1"
        assert isinstance(info["createdAt"], int)
        second = await upsert(
            client,
            {"content": {"profileIds": ["default"], "team": "b"}, "default": {"plan": "paid", "extra": 1}},
            _id=kuid,
        )
        assert second["result"]["created"] is False
        source = second["result"]["_source"]
        assert source == {**source, "name": "Ada", "team": "b", "plan": "free"}
        assert "extra" not in source  # defaults apply on creation only
        assert source["_kuzzle_info"]["createdAt"] == info["createdAt"]
        fetched = await client.call("security", "getUser", _id=kuid)
        assert fetched["_source"]["team"] == "b"


async def test_content_wins_over_default(server: ServerProcess) -> None:
    async with kclient(server.ws_url) as client:
        reply = await upsert(
            client,
            {"content": {"profileIds": ["default"], "plan": "gold"}, "default": {"plan": "free"}},
            _id=uid(),
        )
    assert reply["result"]["_source"]["plan"] == "gold"


async def test_refresh_false_is_visible(server: ServerProcess) -> None:
    kuid = uid()
    async with kclient(server.ws_url) as client:
        reply = await upsert(client, {"content": {"profileIds": ["default"]}}, _id=kuid, refresh=False)
        assert reply["result"]["created"] is True
        assert (await client.call("security", "getUser", _id=kuid))["_id"] == kuid


@pytest.mark.parametrize(
    ("body", "args", "error_id"),
    [
        (None, {"_id": "e1"}, "api.assert.body_required"),
        ({}, {"_id": "e2"}, "api.assert.missing_argument"),
        ({"content": "x"}, {"_id": "e3"}, "api.assert.invalid_type"),
        ({"content": {}}, {"_id": "e4"}, "api.assert.missing_argument"),
        ({"content": {"profileIds": "default"}}, {"_id": "e5"}, "api.assert.invalid_type"),
        ({"content": {"profileIds": []}}, {"_id": "e6"}, "api.assert.empty_argument"),
        ({"content": {"profileIds": ["nope"]}}, {"_id": "e7"}, "security.profile.not_found"),
        ({"content": {"profileIds": ["default"]}, "credentials": {"ldap": {}}}, {"_id": "e8"},
         "security.credentials.unknown_strategy"),
        ({"content": {"profileIds": ["default"]}, "default": 3}, {"_id": "e9"}, "api.assert.invalid_type"),
        ({"content": {"profileIds": ["default"], "a.b": 1}}, {"_id": "e10"}, "api.assert.invalid_argument"),
        ({"content": {"profileIds": ["default"]}}, {}, "api.assert.missing_argument"),
        ({"content": {"profileIds": ["default"]}}, {"_id": "-1"}, "api.assert.invalid_id"),
        ({"content": {"profileIds": ["default"]}}, {"_id": "e11", "retryOnConflict": "x"},
         "api.assert.invalid_type"),
    ],
)  # fmt: skip
async def test_errors(server: ServerProcess, body: Any, args: dict[str, Any], error_id: str) -> None:
    async with kclient(server.ws_url) as client:
        reply = await client.query({"controller": "security", "action": "upsertUser", "body": body, **args})
        assert reply["error"] is not None, reply
        assert reply["error"]["id"] == error_id
        assert reply["status"] == reply["error"]["status"]
        if "_id" in args and args["_id"] not in ("-1",):
            missing = await client.query({"controller": "security", "action": "getUser", "_id": args["_id"]})
            assert missing["error"]["id"] == "security.user.not_found"  # nothing half-written


async def test_identity_keys(idserver: ServerProcess) -> None:
    async with kclient(idserver.ws_url) as client:
        first = await upsert(
            client, {"content": {"profileIds": ["default"], "emails": ["a@x.io", "a2@x.io"]}}
        )
        assert first["result"]["created"] is True
        kuid = first["result"]["_id"]
        assert kuid.startswith("kuid-")
        again = await upsert(client, {"content": {"profileIds": ["default"], "emails": ["a2@x.io"], "n": 2}})
        assert again["result"]["_id"] == kuid
        assert again["result"]["created"] is False
        assert again["result"]["_source"]["emails"] == ["a2@x.io"]
        other = await upsert(client, {"content": {"profileIds": ["default"], "employeeId": "E-7"}})
        other_id = other["result"]["_id"]
        ambiguous = await upsert(
            client, {"content": {"profileIds": ["default"], "emails": ["a2@x.io"], "employeeId": "E-7"}}
        )
        assert ambiguous["error"]["id"] == "security.user.ambiguous_identity"
        assert kuid in ambiguous["error"]["message"]
        assert other_id in ambiguous["error"]["message"]
        taken = await upsert(client, {"content": {"profileIds": ["default"], "employeeId": "E-7"}}, _id=kuid)
        assert taken["error"]["id"] == "security.user.identity_taken"
        assert taken["status"] == 412
        unchanged = await client.call("security", "getUser", _id=kuid)
        assert "employeeId" not in unchanged["_source"]


async def test_http_route_and_prefer_minimal(server: ServerProcess) -> None:
    kuid = uid("http")
    body = {"content": {"profileIds": ["default"], "name": "H"}}
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
        created = await http.post(f"/users/{kuid}/_upsert", json=body)
        assert created.status_code == 200
        assert created.headers["location"] == f"/users/{kuid}"
        assert created.json()["result"]["created"] is True
        updated = await http.post(f"/users/{kuid}/_upsert", json=body)
        assert updated.status_code == 200
        assert "location" not in updated.headers
        assert updated.json()["result"]["created"] is False
        fresh = uid("http")
        minimal = await http.post(f"/users/{fresh}/_upsert", json=body, headers={"Prefer": "return=minimal"})
        assert minimal.status_code == 201
        assert minimal.headers["location"] == f"/users/{fresh}"
        assert minimal.content == b""
        again = await http.post(f"/users/{fresh}/_upsert", json=body, headers={"Prefer": "return=minimal"})
        assert again.status_code == 204
        assert again.content == b""
        bad = await http.post(
            f"/users/{fresh}/_upsert", json={"content": 1}, headers={"Prefer": "return=minimal"}
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["id"] == "api.assert.invalid_type"


async def test_values_the_store_cannot_hold_are_a_bad_request_not_a_crash(server: ServerProcess) -> None:
    """JSON carries integers up to 2**64 - 1 and NUL bytes in field names; MongoDB's BSON holds
    neither (SQLite does): a 400 for that user, others in the same batch are written."""
    async with kclient(server.ws_url) as client:
        for content in ({"big": 2**64 - 1}, {"nul\x00name": 1}):
            reply = await upsert(client, {"content": {"profileIds": ["default"], **content}}, _id=uid())
            if server.storage.startswith("sqlite"):
                assert reply["status"] == 200, reply["error"]
                assert reply["result"]["_source"] == {**reply["result"]["_source"], **content}
            else:
                assert reply["status"] == 400, reply
                assert reply["error"]["id"] == "services.storage.unexpected_bad_request"
        good, bad = uid(), uid()
        batch = await client.call(
            "security",
            "mUpsertUsers",
            body={
                "users": [
                    {"_id": good, "content": {"profileIds": ["default"]}},
                    {"_id": bad, "content": {"profileIds": ["default"], "big": 2**64 - 1}},
                ]
            },
        )
        assert good in [hit["_id"] for hit in batch["successes"]]
        if not server.storage.startswith("sqlite"):
            errors = [(error["index"], error["id"]) for error in batch["errors"]]
            assert errors == [(1, "services.storage.unexpected_bad_request")]
        assert (await client.call("security", "getUser", _id=good))["_id"] == good
