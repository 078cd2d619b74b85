"""Realtime: user-event fan-out latency and publish throughput against a real kserver process.

1. **Fan-out**: 1,000 subscriptions on ``%kserver/users`` (distinct filters, all matching
   the bench users), spread over ``--connections`` WebSocket connections. One
   ``security:upsertUser`` at a time from another connection; for each, the time
   from sending the upsert to each notification's arrival (p50/p99 over every
   delivery) and to the last of the 1,000 (p50/p99 over the upserts).
2. **Publish throughput** with 10,000 registered filters on a collection against
   10 on another; each message matches exactly one subscription, so delivery work
   is equal. Two filter shapes: ``equals`` only (Koncorde indexes them), and
   ``equals`` + a ``range`` that every message satisfies (Koncorde then visits
   every subfilter holding a true non-equality literal: the worst case).
   Pipelined publishes from several connections for ``--seconds``, alternating
   for ``--rounds`` rounds; medians and the ratio (goal: >= 0.5).

The client runs in this process, on the same machine: its own parsing load is
included in the latencies.

    python bench/realtime_bench.py [--upserts 50] [--connections 10] [--seconds 3] [--rounds 3]
                                   [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server_process import start_server

SUBSCRIBERS = 1_000
MANY, FEW = 10_000, 10
_ids = itertools.count()


class Client:
    """A pipelining Kuzzle WS client that timestamps document notifications as they arrive."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.arrivals: list[tuple[float, str]] = []
        self.notified = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter()
            message = orjson.loads(raw)
            future = self.pending.pop(message.get("room", ""), None)
            if future is not None:
                future.set_result(message)
            elif message.get("type") == "document":
                self.arrivals.append((now, message["result"].get("_id", "")))
                self.notified.set()

    async def send(self, frame: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """Send ``frame``; the returned future gets its reply."""
        request_id = f"b{next(_ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        await self.ws.send(orjson.dumps({**frame, "requestId": request_id}).decode())
        return future

    async def call(self, frame: dict[str, Any]) -> Any:
        reply = await (await self.send(frame))
        if reply["error"] is not None:
            raise RuntimeError(reply["error"])
        return reply["result"]

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()


async def open_clients(url: str, count: int) -> list[Client]:
    return [Client(await connect(url, max_size=None)) for _ in range(count)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def fan_out(url: str, upserts: int, connections: int) -> dict[str, Any]:
    subscribers = await open_clients(url, connections)
    writer = (await open_clients(url, 1))[0]
    subscribe = [
        subscribers[i % connections].call(
            {
                "controller": "realtime",
                "action": "subscribe",
                "index": "%kserver",
                "collection": "users",
                "body": {"or": [{"equals": {"team": "bench"}}, {"equals": {"slot": i}}]},
            }
        )
        for i in range(SUBSCRIBERS)
    ]
    await asyncio.gather(*subscribe)
    deliveries: list[float] = []
    last: list[float] = []
    for n in range(upserts):
        kuid = f"bench-user-{n}"
        for client in subscribers:
            client.arrivals.clear()
        start = time.perf_counter()
        await writer.call(
            {
                "controller": "security",
                "action": "upsertUser",
                "_id": kuid,
                "refresh": False,
                "body": {"content": {"profileIds": ["default"], "team": "bench", "n": n}},
            }
        )
        deadline = start + 30
        while sum(len(c.arrivals) for c in subscribers) < SUBSCRIBERS:
            if time.perf_counter() > deadline:
                raise RuntimeError("notifications missing after 30 s")
            await asyncio.sleep(0.001)
        times = [t - start for c in subscribers for t, doc in c.arrivals if doc == kuid]
        if len(times) != SUBSCRIBERS:
            raise RuntimeError(f"{len(times)} notifications for {kuid}, expected {SUBSCRIBERS}")
        deliveries.extend(times)
        last.append(max(times))
    for client in (*subscribers, writer):
        await client.close()
    return {
        "subscribers": SUBSCRIBERS,
        "connections": connections,
        "upserts": upserts,
        "delivery_p50_ms": percentile(deliveries, 0.5) * 1000,
        "delivery_p99_ms": percentile(deliveries, 0.99) * 1000,
        "all_delivered_p50_ms": percentile(last, 0.5) * 1000,
        "all_delivered_p99_ms": percentile(last, 0.99) * 1000,
    }


SHAPES = ("equals", "equals+range")


def bench_filter(shape: str, i: int) -> dict[str, Any]:
    if shape == "equals":
        return {"equals": {"team": f"t{i}"}}
    return {"and": [{"equals": {"team": f"t{i}"}}, {"range": {"level": {"gte": i % 50}}}]}


async def register(url: str, collection: str, count: int, connections: int, shape: str) -> list[Client]:
    clients = await open_clients(url, connections)
    await asyncio.gather(
        *(
            clients[i % connections].call(
                {
                    "controller": "realtime",
                    "action": "subscribe",
                    "index": "bench",
                    "collection": collection,
                    "body": bench_filter(shape, i),
                }
            )
            for i in range(count)
        )
    )
    return clients


async def publish_rate(url: str, collection: str, filters: int, seconds: float) -> float:
    publishers = await open_clients(url, 4)
    window = 32
    stop = time.perf_counter() + seconds
    counts = [0] * len(publishers)

    async def run(index: int, client: Client) -> None:
        n = index
        inflight: set[asyncio.Future[dict[str, Any]]] = set()
        while time.perf_counter() < stop:
            while len(inflight) < window:
                inflight.add(
                    await client.send(
                        {
                            "controller": "realtime",
                            "action": "publish",
                            "index": "bench",
                            "collection": collection,
                            "body": {"team": f"t{n % filters}", "level": 60},
                        }
                    )
                )
                n += len(publishers)
            done, inflight = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
            counts[index] += len(done)
        if inflight:
            await asyncio.wait(inflight)

    start = time.perf_counter()
    await asyncio.gather(*(run(i, c) for i, c in enumerate(publishers)))
    elapsed = time.perf_counter() - start
    for client in publishers:
        await client.close()
    return sum(counts) / elapsed


async def throughput(url: str, seconds: float, rounds: int, shape: str) -> dict[str, Any]:
    holders = await register(url, f"few-{shape}", FEW, 1, shape)
    holders += await register(url, f"many-{shape}", MANY, 10, shape)
    few: list[float] = []
    many: list[float] = []
    for _ in range(rounds):
        few.append(await publish_rate(url, f"few-{shape}", FEW, seconds))
        many.append(await publish_rate(url, f"many-{shape}", MANY, seconds))
    delivered = sum(len(c.arrivals) for c in holders)
    for client in holders:
        await client.close()
    few_median, many_median = statistics.median(few), statistics.median(many)
    return {
        "shape": shape,
        "filters_few": FEW,
        "filters_many": MANY,
        "publish_per_s_few": few_median,
        "publish_per_s_many": many_median,
        "ratio": many_median / few_median,
        "rounds_few": few,
        "rounds_many": many,
        "notifications_received": delivered,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--upserts", type=int, default=50)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="realtime-bench-") as tmp:
        server = start_server(Path(tmp))
        try:
            fan = asyncio.run(fan_out(server.ws_url, args.upserts, args.connections))
            rates = [asyncio.run(throughput(server.ws_url, args.seconds, args.rounds, s)) for s in SHAPES]
        finally:
            server.stop()
    print(f"fan-out: 1 upsertUser -> {fan['subscribers']} subscriptions on {fan['connections']} connections")
    print(
        f"  {'per delivery':<28} p50 {fan['delivery_p50_ms']:8.1f} ms   p99 {fan['delivery_p99_ms']:8.1f} ms"
    )
    print(
        f"  {'all delivered (per upsert)':<28} p50 {fan['all_delivered_p50_ms']:8.1f} ms"
        f"   p99 {fan['all_delivered_p99_ms']:8.1f} ms"
    )
    print("publish throughput (medians, publish/s)")
    print(f"  {'filter shape':<14} {f'{FEW} filters':>12} {f'{MANY} filters':>14} {'ratio':>6}  goal >= 0.5")
    for rate in rates:
        verdict = "ok" if rate["ratio"] >= 0.5 else "BELOW GOAL"
        print(
            f"  {rate['shape']:<14} {rate['publish_per_s_few']:>12,.0f} {rate['publish_per_s_many']:>14,.0f}"
            f" {rate['ratio']:>6.2f}  {verdict}"
        )
    if args.json is not None:
        args.json.write_bytes(orjson.dumps({"fan_out": fan, "publish": rates}, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
