"""The WebSocket transport against a real server: frames, errors, heartbeat, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from tests.kclient import kclient
from tests.server_process import ServerProcess, running_server


async def test_now_envelope(server: ServerProcess) -> None:
    async with kclient(server.ws_url) as client:
        reply = await client.query(
            {
                "controller": "server",
                "action": "now",
                "requestId": "r-1",
                "volatile": {"sdkName": "js@7.17.1"},
            }
        )
    assert reply["status"] == 200
    assert reply["error"] is None
    assert reply["requestId"] == "r-1"
    assert reply["room"] == "r-1"
    assert reply["controller"] == "server"
    assert reply["action"] == "now"
    assert reply["volatile"] == {"sdkName": "js@7.17.1"}
    assert isinstance(reply["result"]["now"], int)
    assert reply["node"].startswith("knode-")
    assert "index" not in reply
    assert "collection" not in reply


async def test_index_and_collection_are_echoed_when_sent(server: ServerProcess) -> None:
    async with kclient(server.ws_url) as client:
        reply = await client.query({"controller": "server", "action": "now", "index": "i", "collection": "c"})
    assert reply["index"] == "i"
    assert reply["collection"] == "c"


async def test_generated_request_id_is_a_uuid(server: ServerProcess) -> None:
    async with kclient(server.ws_url) as client:
        await client.send_raw('{"controller":"server","action":"now"}')
        reply = await client.next_unmatched()
    assert len(reply["requestId"]) == 36
    assert reply["room"] == reply["requestId"]


async def test_application_ping(server: ServerProcess) -> None:
    async with kclient(server.ws_url) as client:
        await client.send_raw('{"p":1}')
        assert await client.next_unmatched() == {"p": 2}
        await client.send_raw('{ "p" : 1 }')
        assert await client.next_unmatched() == {"p": 2}


@pytest.mark.parametrize(
    ("raw", "error_id", "room"),
    [
        ("{not json", "network.websocket.unexpected_error", None),
        ("[1, 2]", "api.assert.invalid_type", None),
        ('"a string"', "api.assert.invalid_type", None),
        ('{"requestId": 12, "controller": "server", "action": "now"}', "api.assert.invalid_type", None),
        ('{"requestId": "m1", "action": "now"}', "api.assert.missing_argument", "m1"),
        ('{"requestId": "m2", "controller": 3, "action": "now"}', "api.assert.invalid_type", "m2"),
        ('{"requestId": "m3", "controller": "server"}', "api.assert.missing_argument", "m3"),
        (
            '{"requestId": "m4", "controller": "server", "action": "now", "volatile": 1}',
            "api.assert.invalid_type",
            "m4",
        ),
        (
            '{"requestId": "m5", "controller": "server", "action": "now", "body": "x"}',
            "api.assert.invalid_type",
            "m5",
        ),
        (
            '{"requestId": "m6", "controller": "nope", "action": "now"}',
            "api.process.controller_not_found",
            "m6",
        ),
        (
            '{"requestId": "m7", "controller": "server", "action": "nope"}',
            "api.process.action_not_found",
            "m7",
        ),
    ],
)
async def test_bad_frames_get_catalogued_errors_and_the_connection_lives(
    server: ServerProcess, raw: str, error_id: str, room: str | None
) -> None:
    async with kclient(server.ws_url) as client:
        if room is None:
            await client.send_raw(raw)
            reply = await client.next_unmatched()
        else:
            reply = await client.send_raw(raw, expect_room=room)
        assert reply["error"]["id"] == error_id
        assert reply["status"] == reply["error"]["status"] >= 400
        assert isinstance(reply["error"]["code"], int)
        assert "stack" not in reply["error"]
        assert reply.get("room") == room
        # the same connection still serves requests
        assert "now" in await client.call("server", "now")


async def test_binary_frames_are_accepted(server: ServerProcess) -> None:
    async with kclient(server.ws_url) as client:
        reply = await client.send_raw(
            b'{"controller":"server","action":"now","requestId":"bin"}', expect_room="bin"
        )
    assert reply["status"] == 200


async def test_invalid_utf8_binary_frame(server: ServerProcess) -> None:
    async with kclient(server.ws_url) as client:
        await client.send_raw(b"\xff\xfe{")
        reply = await client.next_unmatched()
        assert reply["error"]["id"] == "network.websocket.unexpected_error"
        assert "now" in await client.call("server", "now")


async def test_oversized_frame_gets_413_and_connection_lives(server: ServerProcess) -> None:
    big = orjson.dumps({"controller": "server", "action": "now", "body": {"x": "a" * (1024 * 1024 + 10)}})
    async with kclient(server.ws_url) as client:
        await client.send_raw(big.decode())
        reply = await client.next_unmatched()
        assert reply["status"] == 413
        assert reply["error"]["id"] == "network.websocket.request_too_large"
        assert "now" in await client.call("server", "now")


async def test_frame_over_hard_limit_closes_with_1009(tmp_path: Path) -> None:
    with running_server(tmp_path, args=("--ws-hard-max-size", "200000")) as srv:
        async with kclient(srv.ws_url) as client:
            await client.send_raw("x" * 300_000)
            await asyncio.wait_for(client.ws.wait_closed(), 5)
            assert client.ws.close_code == 1009


async def test_many_concurrent_requests_all_answered(server: ServerProcess) -> None:
    async with kclient(server.ws_url) as client:
        replies = await asyncio.gather(
            *(
                client.query({"controller": "server", "action": "now", "requestId": f"c{i}"})
                for i in range(500)
            )
        )
    assert sorted(r["requestId"] for r in replies) == sorted(f"c{i}" for i in range(500))
    assert all(r["status"] == 200 for r in replies)


async def test_idle_connections_are_closed(tmp_path: Path) -> None:
    with running_server(tmp_path, args=("--idle-timeout", "1")) as srv:
        async with kclient(srv.ws_url) as client:
            await asyncio.wait_for(client.ws.wait_closed(), 5)
            assert client.ws.close_code == 1001
