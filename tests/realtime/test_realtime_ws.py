"""The realtime controller over a real WebSocket: every action, every Koncorde keyword, frames as Kuzzle."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.kclient import KClient, kclient
from tests.realtime.rt import assert_quiet, notification, publish, subscribe, unique
from tests.server_process import ServerProcess


@pytest.fixture(scope="module")
def engine_name() -> str:
    """Realtime never touches the store: one engine is enough for this module."""
    return "sqlite"


DOCUMENT_KEYS = [
    "type", "status", "action", "scope", "result", "node", "event", "requestId",
    "timestamp", "volatile", "index", "collection", "controller", "protocol", "room",
]  # fmt: skip
USER_KEYS = [
    "type", "status", "user", "result", "node", "timestamp", "volatile",
    "index", "collection", "controller", "action", "protocol", "room",
]  # fmt: skip

# (filter, a matching message, a message that must not match)
KEYWORDS: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "equals": ({"equals": {"city": "Paris"}}, {"city": "Paris"}, {"city": "paris"}),
    "in": ({"in": {"city": ["Paris", "Lyon"]}}, {"city": "Lyon"}, {"city": "Nice"}),
    "exists": ({"exists": "address.zip"}, {"address": {"zip": "75001"}}, {"address": {}}),
    "exists_array_value": ({"exists": 'tags["red"]'}, {"tags": ["blue", "red"]}, {"tags": ["blue"]}),
    "missing": ({"missing": "deleted"}, {"name": "a"}, {"deleted": True}),
    "range": ({"range": {"age": {"gte": 18, "lt": 65}}}, {"age": 18}, {"age": 65}),
    "regexp": ({"regexp": {"name": {"value": "^jo", "flags": "i"}}}, {"name": "John"}, {"name": "Bojo"}),
    "geoBoundingBox": (
        {"geoBoundingBox": {"loc": {"top": 49, "left": 2, "bottom": 48, "right": 3}}},
        {"loc": {"lat": 48.85, "lon": 2.35}},
        {"loc": {"lat": 45.76, "lon": 4.83}},
    ),
    "geoDistance": (
        {"geoDistance": {"loc": {"lat": 48.85, "lon": 2.35}, "distance": "10km"}},
        {"loc": "48.86, 2.34"},
        {"loc": "45.76, 4.83"},
    ),
    "geoDistanceRange": (
        {"geoDistanceRange": {"loc": [48.85, 2.35], "from": "100km", "to": "500km"}},
        {"loc": [45.76, 4.83]},
        {"loc": [48.86, 2.34]},
    ),
    "geoPolygon": (
        {"geoPolygon": {"loc": {"points": [[49, 2], [49, 3], [48, 3], [48, 2]]}}},
        {"loc": [48.5, 2.5]},
        {"loc": [47, 2.5]},
    ),
    "match": ({"match": {"a": {"b": [1]}}}, {"a": {"b": [1, 2], "c": 3}}, {"a": {"b": [2]}}),
    "select": (
        {"select": {"field": "items", "index": -1, "query": {"equals": {"value": "last"}}}},
        {"items": ["first", "last"]},
        {"items": ["last", "first"]},
    ),
    "and": ({"and": [{"equals": {"a": 1}}, {"equals": {"b": 2}}]}, {"a": 1, "b": 2}, {"a": 1, "b": 3}),
    "or": ({"or": [{"equals": {"a": 1}}, {"equals": {"b": 2}}]}, {"b": 2}, {"a": 2, "b": 1}),
    "not": ({"not": {"equals": {"a": 1}}}, {"a": 2}, {"a": 1}),
    "bool": (
        {
            "bool": {
                "must": [{"exists": "a"}],
                "must_not": [{"equals": {"a": 0}}],
                "should": [{"range": {"a": {"gt": 5}}}],
            }
        },
        {"a": 6},
        {"a": 3},
    ),
    "everything": ({}, {"anything": True}, {}),
}


async def expect_match(sub: KClient, pub: KClient, filters: dict[str, Any], good: Any, bad: Any) -> None:
    index, collection = unique("idx"), "col"
    _, channel = await subscribe(sub, index, collection, filters)
    if bad:
        await publish(pub, index, collection, bad)
    await publish(pub, index, collection, good, volatile={"mark": "good"})
    got = await notification(sub)
    assert got["room"] == channel
    assert got["volatile"] == {"mark": "good"}
    assert {k: v for k, v in got["result"]["_source"].items() if k != "_kuzzle_info"} == good
    await assert_quiet(sub)


@pytest.mark.parametrize("keyword", sorted(KEYWORDS))
async def test_every_koncorde_keyword_matches_and_filters_out(
    sub: KClient, pub: KClient, keyword: str
) -> None:
    filters, good, bad = KEYWORDS[keyword]
    await expect_match(sub, pub, filters, good, bad)


async def test_ids_match_the_published_id(sub: KClient, pub: KClient) -> None:
    index = unique("idx")
    await subscribe(sub, index, "c", {"ids": {"values": ["a1", "a2"]}})
    await publish(pub, index, "c", {"n": 1}, _id="zz")
    await publish(pub, index, "c", {"n": 2}, _id="a2")
    got = await notification(sub)
    assert got["result"]["_id"] == "a2"
    await assert_quiet(sub)


async def test_nothing_matches_nothing(sub: KClient, pub: KClient) -> None:
    index = unique("idx")
    await subscribe(sub, index, "c", {"nothing": "anything"})
    await publish(pub, index, "c", {"a": 1})
    await assert_quiet(sub)


async def test_document_notification_frame_is_kuzzle_s(sub: KClient, pub: KClient) -> None:
    index = unique("idx")
    room_id, channel = await subscribe(sub, index, "c", {"equals": {"k": "v"}})
    reply = await pub.query(
        {
            "controller": "realtime",
            "action": "publish",
            "index": index,
            "collection": "c",
            "_id": "doc-1",
            "body": {"k": "v"},
            "volatile": {"sdkInstanceId": "x"},
            "requestId": "pub-req-1",
        }
    )
    assert reply["result"] == {"published": True}
    got = await notification(sub)
    assert list(got) == DOCUMENT_KEYS
    assert got["room"] == channel
    assert channel == f"{room_id}-311"
    assert got["type"] == "document"
    assert got["status"] == 200
    assert got["action"] == "publish"
    assert got["event"] == "publish"
    assert got["scope"] == "in"
    assert got["requestId"] == "pub-req-1"
    assert got["volatile"] == {"sdkInstanceId": "x"}
    assert got["controller"] == "realtime"
    assert got["protocol"] == "websocket"
    assert (got["index"], got["collection"]) == (index, "c")
    assert got["node"] == reply["node"]
    assert isinstance(got["timestamp"], int)
    assert got["timestamp"] > 1_600_000_000_000
    assert got["result"]["_id"] == "doc-1"
    info = got["result"]["_source"].pop("_kuzzle_info")
    assert info["author"] == "-1"
    assert isinstance(info["createdAt"], int)
    assert got["result"]["_source"] == {"k": "v"}


async def test_publish_without_id_has_no_id_and_timestamp_argument_wins(sub: KClient, pub: KClient) -> None:
    index = unique("idx")
    await subscribe(sub, index, "c", {})
    await publish(pub, index, "c", {"x": 1}, timestamp=1234)
    got = await notification(sub)
    assert "_id" not in got["result"]
    assert got["timestamp"] == 1234


async def test_same_filter_shares_the_room_and_is_stable(server: ServerProcess, sub: KClient) -> None:
    index = unique("idx")
    room_a, _ = await subscribe(sub, index, "c", {"and": [{"equals": {"a": 1}}, {"equals": {"b": 2}}]})
    async with kclient(server.ws_url) as other:
        room_b, _ = await subscribe(other, index, "c", {"and": [{"equals": {"b": 2}}, {"equals": {"a": 1}}]})
        assert room_a == room_b
        assert len(room_a) == 64
        assert (await other.call("realtime", "count", body={"roomId": room_a})) == {"count": 2}
        room_c, _ = await subscribe(other, index, "other", {"equals": {"a": 1}})
        assert room_c != room_a


async def test_scope_in_out_none(sub: KClient, pub: KClient) -> None:
    index = unique("idx")
    filters = {"equals": {"k": 1}}
    _, ch_all = await subscribe(sub, index, "c", filters)
    _, ch_in = await subscribe(sub, index, "c", filters, scope="in")
    _, ch_out = await subscribe(sub, index, "c", filters, scope="out")
    _, ch_none = await subscribe(sub, index, "c", filters, scope="none")
    assert len({ch_all, ch_in, ch_out, ch_none}) == 4
    await publish(pub, index, "c", {"k": 1})  # publish notifications are scope "in"
    rooms = {(await notification(sub))["room"], (await notification(sub))["room"]}
    assert rooms == {ch_all, ch_in}
    await assert_quiet(sub)


async def test_user_notifications_in_out_and_count(server: ServerProcess, sub: KClient) -> None:
    index = unique("idx")
    room_id, channel = await subscribe(sub, index, "c", {}, users="all")
    async with kclient(server.ws_url) as joiner:
        await subscribe(joiner, index, "c", {}, volatile={"who": "joiner"})
        got = await notification(sub)
        assert list(got) == USER_KEYS
        assert got["room"] == channel
        assert got["type"] == "user"
        assert got["user"] == "in"
        assert got["result"] == {"count": 2}
        assert got["volatile"] == {"who": "joiner"}
        assert got["action"] == "subscribe"
        assert got["controller"] == "realtime"
        assert (got["index"], got["collection"], got["protocol"]) == (index, "c", "websocket")
        await subscribe(joiner, index, "c", {}, scope="in")  # same room again: no second "in"
        await assert_quiet(sub)
        await joiner.call("realtime", "unsubscribe", body={"roomId": room_id})
        got = await notification(sub)
        assert (got["user"], got["result"], got["action"]) == ("out", {"count": 1}, "unsubscribe")
        assert got["volatile"] == {"who": "joiner"}
        assert (await sub.call("realtime", "count", body={"roomId": room_id})) == {"count": 1}


@pytest.mark.parametrize(("users", "sees"), [("in", ["in"]), ("out", ["out"]), ("none", [])])
async def test_users_option_filters_user_notifications(
    server: ServerProcess, sub: KClient, users: str, sees: list[str]
) -> None:
    index = unique("idx")
    room_id, channel = await subscribe(sub, index, "c", {}, users=users)
    async with kclient(server.ws_url) as other:
        await subscribe(other, index, "c", {})
        await other.call("realtime", "unsubscribe", body={"roomId": room_id})
    seen = []
    for _ in sees:
        got = await notification(sub)
        assert got["room"] == channel
        seen.append(got["user"])
    assert seen == sees
    await assert_quiet(sub)


async def test_users_out_and_none_get_distinct_channels(sub: KClient) -> None:
    index = unique("idx")
    room_id, out = await subscribe(sub, index, "c", {}, users="out")
    _, none = await subscribe(sub, index, "c", {}, users="none")
    assert out == f"{room_id}-411"
    assert none == f"{room_id}-311"


async def test_unsubscribe_stops_delivery(sub: KClient, pub: KClient) -> None:
    index = unique("idx")
    room_id, _ = await subscribe(sub, index, "c", {})
    await publish(pub, index, "c", {"n": 1})
    await notification(sub)
    assert await sub.call("realtime", "unsubscribe", body={"roomId": room_id}) == {"roomId": room_id}
    await publish(pub, index, "c", {"n": 2})
    await assert_quiet(sub)
    assert await pub.call("realtime", "count", body={"roomId": room_id}) == {"count": 0}
    again = await sub.query({"controller": "realtime", "action": "unsubscribe", "body": {"roomId": room_id}})
    assert again["status"] == 412
    assert again["error"]["id"] == "core.realtime.not_subscribed"


async def test_disconnect_ends_subscriptions_with_out_notifications(
    server: ServerProcess, sub: KClient
) -> None:
    index = unique("idx")
    room_id, _ = await subscribe(sub, index, "c", {}, users="out")
    async with kclient(server.ws_url) as leaver:
        await subscribe(leaver, index, "c", {}, volatile={"who": "leaver"})
        await subscribe(leaver, index, "other", {})
    got = await notification(sub)
    assert (got["user"], got["result"], got["volatile"]) == ("out", {"count": 1}, {"who": "leaver"})
    assert await sub.call("realtime", "count", body={"roomId": room_id}) == {"count": 1}
    listed = await sub.call("realtime", "list")
    assert listed[index] == {"c": {room_id: 1}}


async def test_join_and_list(server: ServerProcess, sub: KClient) -> None:
    index = unique("idx")
    room_id, _ = await subscribe(sub, index, "c", {"equals": {"a": 1}})
    async with kclient(server.ws_url) as joiner:
        joined = await joiner.call("realtime", "join", body={"roomId": room_id}, scope="out", users="all")
        assert joined == {"roomId": room_id, "channel": f"{room_id}-113"}
        listed = await joiner.call("realtime", "list")
        assert listed[index] == {"c": {room_id: 2}}
        missing = await joiner.query({"controller": "realtime", "action": "join", "body": {"roomId": "nope"}})
        assert missing["status"] == 404
        assert missing["error"]["id"] == "core.realtime.room_not_found"


async def test_count_of_unknown_room_is_zero(sub: KClient) -> None:
    assert await sub.call("realtime", "count", body={"roomId": "f" * 64}) == {"count": 0}


async def test_validate_accepts_an_object(sub: KClient) -> None:
    result = await sub.call("realtime", "validate", index="i", collection="c", body={"a": 1})
    assert result == {"errorMessages": {}, "valid": True}
    bad = await sub.query({"controller": "realtime", "action": "validate", "index": "i", "collection": "c"})
    assert bad["error"]["id"] == "api.assert.body_required"


@pytest.mark.parametrize(
    ("frame", "error_id"),
    [
        ({"collection": "c", "body": {}}, "api.assert.missing_argument"),
        ({"index": "i", "body": {}}, "api.assert.missing_argument"),
        ({"index": "i", "collection": "c"}, "api.assert.body_required"),
        ({"index": "i", "collection": "c", "body": {}, "scope": "sideways"}, "core.realtime.invalid_scope"),
        ({"index": "i", "collection": "c", "body": {}, "users": "some"}, "core.realtime.invalid_users"),
        ({"index": "i", "collection": "c", "body": {"equals": {"a": []}}}, "api.assert.koncorde_dsl_error"),
        (
            {"index": "i", "collection": "c", "body": {"equals": {}, "in": {}}},
            "api.assert.koncorde_dsl_error",
        ),
        (
            {"index": "i", "collection": "c", "body": {"term": {"a": 1}}},
            "api.assert.koncorde_unknown_keyword",
        ),
    ],
)
async def test_subscribe_errors(sub: KClient, frame: dict[str, Any], error_id: str) -> None:
    reply = await sub.query({"controller": "realtime", "action": "subscribe", **frame})
    assert reply["status"] == 400
    assert reply["error"]["id"] == error_id


async def test_publish_over_http_route(server: ServerProcess, sub: KClient) -> None:
    index = unique("idx")
    await subscribe(sub, index, "c", {"equals": {"via": "http"}})
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        response = await http.post(
            f"/{index}/c/_publish",
            json={"via": "http"},
            headers={"x-kuzzle-volatile": '{"from": "curl"}', "x-kuzzle-request-id": "http-1"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["result"] == {"published": True}
        query = {
            "controller": "realtime",
            "action": "subscribe",
            "index": index,
            "collection": "c",
            "body": {},
        }
        refused = await http.post("/_query", json=query)
        assert refused.json()["error"]["id"] == "api.assert.unsupported_protocol"
    got = await notification(sub)
    assert got["protocol"] == "http"
    assert got["requestId"] == "http-1"
    assert got["volatile"] == {"from": "curl"}


async def test_publish_to_the_reserved_users_collection_is_refused(pub: KClient) -> None:
    reply = await pub.query(
        {
            "controller": "realtime",
            "action": "publish",
            "index": "%kserver",
            "collection": "users",
            "body": {},
        }
    )
    assert reply["status"] == 400
    assert reply["error"]["id"] == "api.assert.invalid_argument"


async def test_server_metrics_counts_rooms_and_connections(sub: KClient) -> None:
    index = unique("idx")
    await subscribe(sub, index, "c", {"equals": {"m": 1}})
    metrics = await sub.call("server", "metrics")
    assert metrics["realtime"]["rooms"] >= 1
    assert metrics["realtime"]["subscriptions"] >= 1
    assert metrics["network"]["connections"]["websocket"] >= 1
    assert metrics["api"]["concurrentRequests"] >= 1  # this very request
    assert {"requests", "users", "uptime", "timestamp"} <= set(metrics)
