"""Transport and API limits over real sockets: requests in flight, request-head timeout,
connection caps, JSON depth, subscriptions per connection, batch sizes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from kserver.wire.request import MAX_DEPTH, FrameError, parse_frame
from tests.conftest import storage_url
from tests.kclient import kclient
from tests.reliability.rawws import RawWebSocket, process_rss_kib
from tests.server_process import running_server

PIPELINED = 10_000


async def test_pipelined_requests_are_bounded_by_max_in_flight(
    request: pytest.FixtureRequest, engine_name: str, tmp_path: Path
) -> None:
    """10,000 frames sent without reading a reply: the server runs at most ``max_in_flight`` of them
    at a time (sampled through server:metrics from another connection) and its memory stays flat."""
    storage = storage_url(request, engine_name, tmp_path)
    with running_server(tmp_path, storage=storage, args=("--max-in-flight", "8")) as server:
        pipeliner = await RawWebSocket.open(server.port)
        async with kclient(server.ws_url) as monitor:
            rss_before = process_rss_kib(server.process.pid)
            base = (await monitor.call("server", "metrics"))["requests"]
            writer = asyncio.create_task(pipeline(pipeliner, PIPELINED))
            peak = 0
            rss_max = rss_before
            done = 0
            for _ in range(2_000):  # bounded: at most ~2,000 samples
                metrics = await monitor.call("server", "metrics")
                peak = max(peak, metrics["api"]["concurrentRequests"])
                rss_max = max(rss_max, process_rss_kib(server.process.pid))
                done = metrics["requests"] - base
                if done >= PIPELINED:
                    break
                await asyncio.sleep(0.005)
            await writer
        pipeliner.close()
    assert done >= PIPELINED, f"only {done} of {PIPELINED} pipelined requests ran"
    # 8 for the pipelining connection, 1 for the monitor's own server:metrics
    assert peak <= 9, f"{peak} requests ran at once with --max-in-flight 8"
    growth_mib = (rss_max - rss_before) / 1024
    assert growth_mib < 32, f"RSS grew {growth_mib:.1f} MiB"


async def pipeline(ws: RawWebSocket, count: int) -> None:
    for i in range(count):
        # a search waits for a reader thread (a read by id would finish at once, never piling up)
        frame = {"controller": "security", "action": "searchUsers", "body": {}, "requestId": f"p{i}"}
        await ws.send(frame)  # drain(): the server's backpressure holds this writer back


async def test_unfinished_request_head_is_dropped(tmp_path: Path) -> None:
    with running_server(tmp_path, args=("--handshake-timeout", "1")) as server:
        silent = socket.create_connection(("127.0.0.1", server.port))
        partial = socket.create_connection(("127.0.0.1", server.port))
        partial.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")  # never ends the head
        for sock in (silent, partial):
            sock.settimeout(5)
            with contextlib.suppress(ConnectionResetError):  # aborted: closed too
                assert sock.recv(1024) == b""  # closed by the server, nothing sent
            sock.close()
        # a complete upgrade on a fresh connection is still served, and outlives the head timeout
        async with kclient(server.ws_url) as client:
            await asyncio.sleep(1.5)
            assert (await client.query({"controller": "server", "action": "now"}))["status"] == 200


async def refused_status(url: str) -> tuple[int, dict[str, object]]:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url):
            pass
    response = refused.value.response
    return response.status_code, orjson.loads(response.body or b"{}")


async def test_connections_per_address_are_capped_before_the_upgrade(tmp_path: Path) -> None:
    with running_server(tmp_path, args=("--ws-max-connections-per-address", "3")) as server:
        async with kclient(server.ws_url), kclient(server.ws_url), kclient(server.ws_url) as third:
            status, body = await refused_status(server.ws_url)
            assert status == 429
            assert body["error"]["id"] == "api.process.too_many_requests"  # type: ignore[index]
            assert (await third.query({"controller": "server", "action": "now"}))["status"] == 200
            # HTTP is not a WebSocket connection: unaffected
            async with httpx.AsyncClient() as http:
                assert (await http.get(f"{server.http_url}/_now")).status_code == 200
        # closed connections are released
        async with kclient(server.ws_url) as again:
            assert (await again.query({"controller": "server", "action": "now"}))["status"] == 200


async def test_total_connections_are_capped_before_the_upgrade(tmp_path: Path) -> None:
    with running_server(tmp_path, args=("--ws-max-connections", "2")) as server:
        async with kclient(server.ws_url), kclient(server.ws_url):
            status, body = await refused_status(server.ws_url)
            assert status == 503
            assert body["error"]["id"] == "api.process.overloaded"  # type: ignore[index]
        async with kclient(server.ws_url) as again:
            assert (await again.query({"controller": "server", "action": "now"}))["status"] == 200


def now_frame(request_id: str, volatile: str) -> str:
    return f'{{"controller":"server","action":"now","requestId":"{request_id}","volatile":{volatile}}}'


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def test_the_depth_limit_is_exact_and_counts_containers_not_brackets_in_strings() -> None:
    # The frame itself is one level: MAX_DEPTH - 1 more levels are the most it may hold.
    parse_frame(now_frame("ok", nested(MAX_DEPTH - 1)))
    with pytest.raises(FrameError) as caught:
        parse_frame(now_frame("deep", nested(MAX_DEPTH)))
    assert caught.value.error.id == "api.assert.invalid_argument"
    assert caught.value.request_id == "deep"
    brackets = orjson.dumps("{[" * 300).decode()
    parse_frame(now_frame("shallow", '{"a":' + brackets + "}"))
    assert parse_frame(now_frame("bytes", nested(MAX_DEPTH - 1)).encode()).action == "now"
    with pytest.raises(FrameError):
        parse_frame(now_frame("deep-bytes", nested(MAX_DEPTH)).encode())


def test_a_long_string_beside_deep_nesting_does_not_hide_it() -> None:
    # The check takes the top-level strings (a jwt) out of the frame's length before counting:
    # what remains must still see the nesting, in text and in bytes.
    jwt = "j" * 5000
    for depth, refused in ((MAX_DEPTH - 1, False), (MAX_DEPTH, True)):
        frame = now_frame("jwt", nested(depth))[:-1] + f',"jwt":"{jwt}"}}'
        for raw in (frame, frame.encode()):
            if refused:
                with pytest.raises(FrameError):
                    parse_frame(raw)
            else:
                assert parse_frame(raw).jwt == jwt


async def test_json_depth(tmp_path: Path) -> None:
    """orjson parses at most 1024 levels and writes at most 254: frames deeper than the server's
    MAX_DEPTH (128) get a 400 before any action runs, so nothing too deep is stored or echoed."""
    with running_server(tmp_path) as server:
        async with kclient(server.ws_url) as client:
            too_deep = now_frame("d1", nested(1100))
            await client.send_raw(too_deep)
            error = (await client.next_unmatched())["error"]
            assert error["id"] == "network.websocket.unexpected_error"
            assert "depth" in error["message"]
            echo = now_frame("d2", nested(300))
            reply = await client.send_raw(echo, expect_room="d2")
            assert (reply["status"], reply["error"]["id"]) == (400, "api.assert.invalid_argument")
            deep_user = {
                "controller": "security",
                "action": "upsertUser",
                "_id": "deep",
                "requestId": "d4",
                "body": {"content": {"profileIds": ["default"], "x": orjson.loads(nested(200))}},
            }
            reply = await client.send_raw(orjson.dumps(deep_user).decode(), expect_room="d4")
            assert (reply["status"], reply["error"]["id"]) == (400, "api.assert.invalid_argument")
            missing = await client.query({"controller": "security", "action": "getUser", "_id": "deep"})
            assert missing["error"]["id"] == "security.user.not_found"  # nothing unreadable was stored
            fine = now_frame("d3", nested(100))
            assert (await client.send_raw(fine, expect_room="d3"))["status"] == 200
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            response = await http.post("/_query", content=nested(1100))
            assert response.status_code == 400
            assert response.json()["error"]["id"] == "network.http.body_parse_failed"
            deep_volatile = await http.get("/_now", headers={"X-Kuzzle-Volatile": nested(300)})
            assert deep_volatile.status_code == 400
            assert deep_volatile.json()["error"]["id"] == "network.http.volatile_parse_failed"
            deep_body = await http.post("/_query", content=now_frame("h1", nested(300)))
            assert deep_body.status_code == 400
            assert deep_body.json()["error"]["id"] == "api.assert.invalid_argument"
        assert "Traceback" not in server.log()


async def test_subscriptions_per_connection(tmp_path: Path) -> None:
    with running_server(tmp_path, args=("--subscriptions-per-connection", "3")) as server:
        async with kclient(server.ws_url) as client, kclient(server.ws_url) as other:
            rooms = [
                (
                    await client.call(
                        "realtime", "subscribe", index="q", collection="c", body={"equals": {"n": n}}
                    )
                )["roomId"]
                for n in range(3)
            ]
            fourth = await client.query(
                {
                    "controller": "realtime",
                    "action": "subscribe",
                    "index": "q",
                    "collection": "c",
                    "body": {"equals": {"n": 3}},
                }
            )
            assert (fourth["status"], fourth["error"]["id"]) == (413, "core.realtime.too_many_rooms")
            # the same room again is not a new one; another connection has its own quota
            again = await client.call(
                "realtime", "subscribe", index="q", collection="c", body={"equals": {"n": 0}}
            )
            assert again["roomId"] == rooms[0]
            others = await other.call(
                "realtime", "subscribe", index="q", collection="c", body={"equals": {"n": 3}}
            )
            joined = await client.query(
                {"controller": "realtime", "action": "join", "body": {"roomId": others["roomId"]}}
            )
            assert (joined["status"], joined["error"]["id"]) == (413, "core.realtime.too_many_rooms")
            await client.call("realtime", "unsubscribe", body={"roomId": rooms[2]})
            await client.call("realtime", "subscribe", index="q", collection="c", body={"equals": {"n": 3}})


async def test_batch_sizes(tmp_path: Path) -> None:
    args = ("--documents-write-count", "5", "--batch-upsert-max", "4")
    with running_server(tmp_path, args=args) as server:
        async with kclient(server.ws_url) as client:
            upserts = [{"_id": f"b{i}", "content": {"profileIds": ["default"]}} for i in range(5)]
            reply = await client.query(
                {"controller": "security", "action": "mUpsertUsers", "body": {"users": upserts}}
            )
            assert (reply["status"], reply["error"]["id"]) == (413, "services.storage.write_limit_exceeded")
            reply = await client.query(
                {
                    "controller": "security",
                    "action": "mDeleteUsers",
                    "body": {"ids": [f"b{i}" for i in range(6)]},
                }
            )
            assert (reply["status"], reply["error"]["id"]) == (413, "services.storage.write_limit_exceeded")
            ok = await client.query(
                {"controller": "security", "action": "mUpsertUsers", "body": {"users": upserts[:4]}}
            )
            assert ok["status"] == 200, ok["error"]
