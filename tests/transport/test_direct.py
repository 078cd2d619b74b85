"""The direct WebSocket path (kserver.transport.direct): text frames reach the session on the
protocol's stack; held sessions, binary frames and older queued frames go through ``receive()``.
Whatever the path, the frames of one connection start in the order they were sent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import connect

from tests.kclient import kclient
from tests.realtime.rt import subscribe, unique
from tests.reliability.rawws import RawWebSocket, encode_frame
from tests.server_process import running_server

FRAMES = 3_000


async def test_pipelined_frames_start_in_send_order_whatever_their_path(tmp_path: Path) -> None:
    """3,000 publishes pipelined in bursts of 50 frames without reading replies, mixed with binary
    frames (always queued for receive()) and, in the second half, with user searches (which wait,
    filling the two request slots and holding the socket): the subscriber gets every publication,
    in the order sent."""
    with running_server(tmp_path, args=("--max-in-flight", "2")) as server:
        async with kclient(server.ws_url) as sub:
            index = unique("direct")
            await subscribe(sub, index, "c", {})
            pipeliner = await RawWebSocket.open(server.port)
            burst: list[bytes] = []
            for seq in range(FRAMES):
                frame = {"controller": "realtime", "action": "publish", "index": index, "collection": "c"}
                text = orjson.dumps({**frame, "body": {"seq": seq}, "requestId": f"p{seq}"}).decode()
                burst.append(encode_frame(text, binary=seq % 7 == 3))
                if seq >= FRAMES // 2 and seq % 5 == 0:
                    read = {"controller": "security", "action": "searchUsers", "body": {}}
                    burst.append(encode_frame(orjson.dumps(read).decode()))
                if len(burst) >= 50:
                    pipeliner.writer.write(b"".join(burst))
                    await pipeliner.writer.drain()
                    burst.clear()
            pipeliner.writer.write(b"".join(burst))
            got = [
                (await asyncio.wait_for(sub.notifications.get(), 30))["result"]["_source"]["seq"]
                for _ in range(FRAMES)
            ]
            pipeliner.close()
    assert got == list(range(FRAMES))


def _session_sockets(server_app: Any) -> list[Any]:
    return [session._socket for session in server_app.sessions]


async def test_text_frames_skip_the_receive_queue_until_the_session_is_held(tmp_path: Path) -> None:
    """In-process uvicorn on a real socket, with a protocol that counts the frames uvicorn queues for
    ``receive()``: none for requests one at a time; binary frames and frames arriving while the
    only request slot is taken are queued, and all are answered."""
    from kserver.app import build_app
    from kserver.cli import uvicorn_config
    from kserver.config import Settings
    from kserver.transport.protocols import WebSocketProtocol

    queued: list[str] = []

    class Counting(WebSocketProtocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            put = self.queue.put_nowait

            def counted(message: Any) -> None:
                if message["type"] == "websocket.receive":
                    queued.append(message.get("text") or "binary")
                put(message)

            self.queue.put_nowait = counted  # type: ignore[method-assign, assignment]

    import uvicorn

    settings = Settings(storage=f"sqlite:///{tmp_path / 'k.db'}", port=0, max_in_flight=1)
    app = build_app(settings)
    config = uvicorn_config(settings, app)
    config.ws = Counting
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(500):  # up to 5 s
            if server.started:
                break
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            for i in range(200):
                now = {"controller": "server", "action": "now", "requestId": str(i)}
                await ws.send(orjson.dumps(now).decode())
                assert orjson.loads(await ws.recv())["room"] == str(i)
            assert queued == []
            assert [type(s) for s in _session_sockets(app)] == [Counting]

            await ws.send(orjson.dumps({"controller": "server", "action": "now", "requestId": "b"}))
            assert orjson.loads(await ws.recv())["room"] == "b"
            assert queued == ["binary"]

            # Pipelined searches (reader threads: they wait): one slot, so those behind are queued.
            for i in range(50):
                frame = {"controller": "security", "action": "searchUsers", "body": {}, "requestId": f"g{i}"}
                await ws.send(orjson.dumps(frame).decode())
            rooms = {orjson.loads(await ws.recv())["room"] for _ in range(50)}
            assert rooms == {f"g{i}" for i in range(50)}
            assert len(queued) > 1
    finally:
        server.should_exit = True
        await serving
