"""SIGTERM: stop accepting, answer what is running, close WebSockets with 1001, exit 0 within the grace."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from tests.kclient import kclient
from tests.server_process import start_server


async def test_sigterm_answers_in_flight_then_closes_1001(tmp_path: Path) -> None:
    server = start_server(tmp_path, args=("--shutdown-grace", "5"))
    async with kclient(server.ws_url) as client:
        await client.call("server", "now")
        frames = [
            {
                "controller": "security",
                "action": "upsertUser",
                "_id": f"bye-{i}",
                "body": {
                    "content": {"profileIds": ["default"]},
                    "credentials": {"local": {"username": f"bye{i}", "password": "a-long-password"}},
                },
            }
            for i in range(8)
        ]
        pending = [asyncio.create_task(client.query(frame)) for frame in frames]
        await asyncio.sleep(0.05)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        replies = await asyncio.gather(*pending)
        for reply in replies:
            assert reply["status"] == 200 or reply["error"]["id"] == "api.process.shutting_down", reply
        await asyncio.wait_for(client.ws.wait_closed(), 10)
        assert client.ws.close_code == 1001
    assert server.process.wait(10) == 0
    assert time.monotonic() - started < 8
