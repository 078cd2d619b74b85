"""Hold many idle WebSocket connections to one kserver; report its RSS per connection.

    python bench/connections.py [--connections 10000] [--json]

Opens ``--connections`` raw WebSocket connections (handshake by hand over asyncio sockets: one
client process, no per-connection library overhead), measures the server's VmRSS before and after,
then checks every connection still answers the application heartbeat ``{"p":1}`` -> ``{"p":2}``.
The file-descriptor limit is raised to the hard limit in this process; the server inherits it.
Goal: at most 20 KiB of server RSS per idle connection.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.reliability.rawws import RawWebSocket, process_rss_kib
from tests.server_process import start_server

BATCH = 500


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def heartbeat(ws: RawWebSocket) -> bool:
    await ws.send({"p": 1})
    reply: object = orjson.loads(await ws.recv_text(30))
    return reply == {"p": 2}


async def run(connections: int) -> dict[str, Any]:
    limit = raise_fd_limit(connections + 200)
    if limit < connections + 100:
        raise SystemExit(f"file descriptor limit {limit} is too low for {connections} connections")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), args=("--idle-timeout", "3600", "--log-level", "warning"))
        try:
            pid = server.process.pid
            warm = await RawWebSocket.open(server.port)  # first connection: loads the code paths
            assert await heartbeat(warm)
            await asyncio.sleep(0.5)
            rss_before = process_rss_kib(pid)
            opened: list[RawWebSocket] = [warm]
            started = time.monotonic()
            while len(opened) < connections:
                batch = min(BATCH, connections - len(opened))
                opened += await asyncio.gather(*(RawWebSocket.open(server.port) for _ in range(batch)))
            open_seconds = time.monotonic() - started
            await asyncio.sleep(1.0)
            rss_after = process_rss_kib(pid)
            answered = 0
            for start in range(0, len(opened), BATCH):
                results = await asyncio.gather(*(heartbeat(ws) for ws in opened[start : start + BATCH]))
                answered += sum(results)
            rss_end = process_rss_kib(pid)
            for ws in opened:
                ws.close()
        finally:
            server.stop()
    per_connection = (rss_after - rss_before) * 1024 / (len(opened) - 1)
    return {
        "connections": len(opened),
        "open_seconds": round(open_seconds, 2),
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "rss_after_heartbeats_kib": rss_end,
        "rss_per_connection_bytes": round(per_connection),
        "heartbeats_answered": answered,
        "goal_bytes": 20 * 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = asyncio.run(run(args.connections))
    if args.json:
        print(orjson.dumps(figures).decode())
        return
    print(
        f"{figures['connections']} idle WebSocket connections opened in {figures['open_seconds']} s; "
        f"server RSS {figures['rss_before_kib']} KiB -> {figures['rss_after_kib']} KiB = "
        f"{figures['rss_per_connection_bytes'] / 1024:.1f} KiB per connection (goal <= 20 KiB); "
        f"{figures['heartbeats_answered']}/{figures['connections']} answered the heartbeat"
    )


if __name__ == "__main__":
    main()
