"""Live user events: user changes from any connection arrive as document notifications on %kserver/users."""

from __future__ import annotations

from typing import Any

from tests.kclient import KClient
from tests.realtime.rt import assert_quiet, notification, subscribe, unique


async def upsert(client: KClient, kuid: str, content: dict[str, Any], **args: Any) -> dict[str, Any]:
    result: dict[str, Any] = await client.call(
        "security", "upsertUser", _id=kuid, body={"content": content}, **args
    )
    return result


async def test_upsert_from_another_connection_is_notified(sub: KClient, pub: KClient) -> None:
    kuid = unique("feed-user-")
    room_id, channel = await subscribe(sub, "%kserver", "users", {"ids": {"values": [kuid]}})
    reply = await pub.query(
        {
            "controller": "security",
            "action": "upsertUser",
            "_id": kuid,
            "body": {"content": {"profileIds": ["default"], "team": "blue"}},
            "volatile": {"sdkInstanceId": "writer"},
            "requestId": "upsert-1",
        }
    )
    assert reply["error"] is None
    got = await notification(sub)
    assert got["room"] == channel
    assert (got["type"], got["index"], got["collection"]) == ("document", "%kserver", "users")
    assert (got["action"], got["event"], got["scope"]) == ("create", "write", "in")
    assert (got["controller"], got["requestId"]) == ("security", "upsert-1")
    assert got["volatile"] == {"sdkInstanceId": "writer"}
    assert got["result"]["_id"] == kuid
    assert got["result"]["created"] is True
    source = got["result"]["_source"]
    assert (source["profileIds"], source["team"]) == (["default"], "blue")
    assert "credentials" not in source

    await upsert(pub, kuid, {"profileIds": ["default"], "team": "red"})
    got = await notification(sub)
    assert (got["action"], got["result"]["created"], got["result"]["_source"]["team"]) == (
        "update",
        False,
        "red",
    )
    assert room_id == got["room"].rsplit("-", 1)[0]


async def test_credentials_never_reach_subscribers(sub: KClient, pub: KClient) -> None:
    kuid = unique("feed-cred-")
    await subscribe(sub, "%kserver", "users", {"ids": {"values": [kuid]}})
    username, password = unique("login"), "a-Secret-1234"
    await pub.call(
        "security",
        "upsertUser",
        _id=kuid,
        body={
            "content": {"profileIds": ["default"]},
            "credentials": {"local": {"username": username, "password": password}},
        },
    )
    got = await notification(sub)
    raw = str(got)
    assert password not in raw
    assert "credentials" not in raw
    assert "hash" not in raw


async def test_filters_on_user_content_and_array_fields(sub: KClient, pub: KClient) -> None:
    marker = unique("m")
    # equals on an array field compares the whole value: it never matches one element...
    _, equals_channel = await subscribe(
        sub,
        "%kserver",
        "users",
        {"and": [{"equals": {"marker": marker}}, {"equals": {"profileIds": "admin"}}]},
    )
    # ...an element test is exists with the value syntax, or match with a sub-array
    _, exists_channel = await subscribe(
        sub, "%kserver", "users", {"and": [{"equals": {"marker": marker}}, {"exists": 'profileIds["admin"]'}]}
    )
    _, match_channel = await subscribe(
        sub, "%kserver", "users", {"match": {"marker": marker, "profileIds": ["admin"]}}
    )
    await upsert(pub, unique("feed-default-"), {"profileIds": ["default"], "marker": marker})
    await upsert(pub, unique("feed-admin-"), {"profileIds": ["default", "admin"], "marker": marker})
    rooms = {(await notification(sub))["room"], (await notification(sub))["room"]}
    assert rooms == {exists_channel, match_channel}
    assert equals_channel not in rooms
    await assert_quiet(sub)


async def test_an_update_that_leaves_the_filter_is_scope_out(sub: KClient, pub: KClient) -> None:
    kuid = unique("feed-scope-")
    await subscribe(sub, "%kserver", "users", {"equals": {"team": kuid}})
    await upsert(pub, kuid, {"profileIds": ["default"], "team": kuid})
    assert (await notification(sub))["scope"] == "in"
    await upsert(pub, kuid, {"profileIds": ["default"], "team": "elsewhere"})
    got = await notification(sub)
    assert (got["scope"], got["action"], got["result"]["_source"]["team"]) == ("out", "update", "elsewhere")
    await upsert(pub, kuid, {"profileIds": ["default"], "team": "still elsewhere"})
    await assert_quiet(sub)


async def test_create_update_delete_through_the_security_controller(sub: KClient, pub: KClient) -> None:
    kuid = unique("feed-crud-")
    await subscribe(sub, "%kserver", "users", {"ids": {"values": [kuid]}})
    await pub.call("security", "createUser", _id=kuid, body={"content": {"profileIds": ["default"], "n": 1}})
    got = await notification(sub)
    assert (got["action"], got["scope"], got["result"]["_source"]["n"]) == ("create", "in", 1)
    await pub.call("security", "updateUser", _id=kuid, body={"n": 2})
    got = await notification(sub)
    assert (got["action"], got["result"]["_source"]["n"]) == ("update", 2)
    await pub.call("security", "deleteUser", _id=kuid)
    got = await notification(sub)
    assert (got["action"], got["event"], got["scope"], got["result"]["_id"]) == (
        "delete",
        "delete",
        "out",
        kuid,
    )


async def test_mupsert_notifies_each_user(sub: KClient, pub: KClient) -> None:
    marker = unique("batch")
    await subscribe(sub, "%kserver", "users", {"equals": {"batch": marker}})
    users = [
        {"_id": unique("feed-m-"), "content": {"profileIds": ["default"], "batch": marker}} for _ in range(3)
    ]
    await pub.call("security", "mUpsertUsers", body={"users": users})
    seen = {(await notification(sub))["result"]["_id"] for _ in users}
    assert seen == {user["_id"] for user in users}
