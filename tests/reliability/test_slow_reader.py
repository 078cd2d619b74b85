"""A WebSocket client that stops reading is dropped once its send queue passes the budget, and the
server's memory stays bounded meanwhile; publishers and other subscribers are not held back."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.kclient import KClient, kclient
from tests.reliability.rawws import RawWebSocket, process_rss_kib
from tests.server_process import running_server

QUEUE_BYTES = 256 * 1024
PAD = "x" * 2000  # ~2 KB notifications
BATCH = 100
MAX_PUBLISHES = 30_000  # 60 MB of notifications: far past any socket buffer and the budget
# RSS bound: the queue budget is 256 KiB and the socket buffers are the kernel's; 16 MiB leaves room for
# allocator noise, while queueing what the slow client misses would grow by tens of MiB.


async def publish_batch(publisher: KClient, start: int) -> None:
    replies = await asyncio.gather(
        *(
            publisher.query(
                {
                    "controller": "realtime",
                    "action": "publish",
                    "index": "slow",
                    "collection": "c",
                    "body": {"n": start + i, "pad": PAD},
                }
            )
            for i in range(BATCH)
        )
    )
    assert all(r["status"] == 200 for r in replies), [r["error"] for r in replies if r["error"]][:1]


async def test_client_not_reading_notifications_is_dropped_with_bounded_memory(tmp_path: Path) -> None:
    args = ("--ws-send-queue-bytes", str(QUEUE_BYTES), "--ws-send-queue-messages", "1000")
    with running_server(tmp_path, args=args) as server:
        slow = await RawWebSocket.open(server.port, rcvbuf=4096)
        await slow.send(
            {
                "controller": "realtime",
                "action": "subscribe",
                "index": "slow",
                "collection": "c",
                "body": {},
                "requestId": "sub",
            }
        )
        room_id = (await slow.reply("sub"))["result"]["roomId"]
        async with kclient(server.ws_url) as publisher, kclient(server.ws_url) as reader:
            await reader.call("realtime", "subscribe", index="slow", collection="c", body={})
            rss_before = process_rss_kib(server.process.pid)
            rss_max = rss_before
            published = 0
            while published < MAX_PUBLISHES:
                await publish_batch(publisher, published)
                published += BATCH
                rss_max = max(rss_max, process_rss_kib(server.process.pid))
                count = (await publisher.call("realtime", "count", body={"roomId": room_id}))["count"]
                if count == 1:  # only `reader` is left: the slow client was dropped
                    break
            assert count == 1, f"slow reader still subscribed after {published} publishes"
            # the reading subscriber kept up: it received every notification so far
            for _ in range(published):
                await asyncio.wait_for(reader.notifications.get(), 10)
        # the dropped client's socket is really gone: reading what the kernel buffered reaches the end
        received = await slow.read_until_gone(10)
        slow.close()
        growth_mib = (rss_max - rss_before) / 1024
        assert growth_mib < 16, f"server RSS grew {growth_mib:.1f} MiB while a client did not read"
        assert "not reading" in server.log()
    print(f"slow reader dropped after {published} publishes; RSS +{growth_mib:.1f} MiB; {received} B read")
