"""Soak: mixed traffic against one kserver for a while, sampling its memory.

    python bench/soak.py [--seconds 60 | --long] [--engine-url URL] [--json]

Eight WebSocket clients loop over server:now, security:upsertUser (a rotating set of 2,000 ids),
security:getUser, auth:login and realtime:publish, while a subscriber receives every publish as a
notification. The server's VmRSS is sampled every 2 s. Reports requests, errors (every error is
unexpected: the traffic is all valid), notifications received, and RSS at start, after warm-up,
at the end, the maximum, and the growth after warm-up. ``--long`` runs 10 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.kclient import KClient, kclient
from tests.reliability.rawws import process_rss_kib
from tests.server_process import start_server

CLIENTS = 8
IDS = 2_000
SAMPLE_EVERY = 2.0
PASSWORD = "Soak-Password-1"
CHEAP_HASH = ("--argon2-memory-kib", "1024", "--argon2-time-cost", "1")


class Tally:
    def __init__(self) -> None:
        self.requests = 0
        self.errors: list[str] = []


async def one(client: KClient, tally: Tally, frame: dict[str, Any]) -> None:
    reply = await client.query(frame, timeout=30)
    tally.requests += 1
    if reply["error"] is not None:
        tally.errors.append(f"{frame['controller']}:{frame['action']} {reply['error']['id']}")


async def traffic(url: str, worker: int, tally: Tally, deadline: float) -> None:
    async with kclient(url) as client:
        for n in itertools.count():
            if time.monotonic() >= deadline:
                return
            kuid = f"soak-{(worker * 7919 + n) % IDS}"
            step = n % 10
            if step < 3:
                await one(client, tally, {"controller": "server", "action": "now"})
            elif step < 6:
                await one(
                    client,
                    tally,
                    {
                        "controller": "security",
                        "action": "upsertUser",
                        "_id": kuid,
                        "body": {"content": {"profileIds": ["default"], "n": n, "worker": worker}},
                    },
                )
            elif step < 8:
                await one(client, tally, {"controller": "security", "action": "getUser", "_id": "soak-login"})
            elif step == 8:
                await one(
                    client,
                    tally,
                    {
                        "controller": "auth",
                        "action": "login",
                        "strategy": "local",
                        "body": {"username": "soak-login", "password": PASSWORD},
                    },
                )
            else:
                await one(
                    client,
                    tally,
                    {
                        "controller": "realtime",
                        "action": "publish",
                        "index": "soak",
                        "collection": "feed",
                        "body": {"worker": worker, "n": n},
                    },
                )


async def soak(seconds: float, storage: str | None = None, warmup: float = 10.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), storage=storage, args=(*CHEAP_HASH, "--log-level", "warning"))
        try:
            pid = server.process.pid
            async with kclient(server.ws_url) as setup, kclient(server.ws_url) as subscriber:
                await setup.call(
                    "security",
                    "createUser",
                    _id="soak-login",
                    body={
                        "content": {"profileIds": ["default"]},
                        "credentials": {"local": {"username": "soak-login", "password": PASSWORD}},
                    },
                )
                await subscriber.call("realtime", "subscribe", index="soak", collection="feed", body={})
                tally = Tally()
                started = time.monotonic()
                deadline = started + seconds
                rss_start = process_rss_kib(pid)
                samples: list[tuple[float, int]] = [(0.0, rss_start)]
                workers = [
                    asyncio.create_task(traffic(server.ws_url, w, tally, deadline)) for w in range(CLIENTS)
                ]
                notifications = 0

                async def count_notifications() -> None:
                    nonlocal notifications
                    while True:
                        await subscriber.notifications.get()
                        notifications += 1

                counter = asyncio.create_task(count_notifications())
                while time.monotonic() < deadline:
                    await asyncio.sleep(min(SAMPLE_EVERY, max(0.0, deadline - time.monotonic())))
                    samples.append((time.monotonic() - started, process_rss_kib(pid)))
                await asyncio.gather(*workers)
                await asyncio.sleep(0.5)  # the last notifications
                counter.cancel()
                elapsed = time.monotonic() - started
        finally:
            server.stop()
    after_warmup = [rss for t, rss in samples if t >= min(warmup, seconds / 2)]
    rss_warm = after_warmup[0]
    rss_end = samples[-1][1]
    return {
        "seconds": round(elapsed, 1),
        "requests": tally.requests,
        "requests_per_second": round(tally.requests / elapsed),
        "errors": len(tally.errors),
        "error_sample": tally.errors[:5],
        "notifications": notifications,
        "rss_start_kib": rss_start,
        "rss_after_warmup_kib": rss_warm,
        "rss_end_kib": rss_end,
        "rss_max_kib": max(rss for _, rss in samples),
        "growth_after_warmup_kib": max(after_warmup) - rss_warm,
        "samples": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--long", action="store_true", help="10 minutes")
    parser.add_argument("--engine-url", default=None, help="storage URL (default: a temporary SQLite file)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = asyncio.run(soak(600.0 if args.long else args.seconds, args.engine_url))
    if args.json:
        print(orjson.dumps(figures).decode())
        return
    print(
        f"soak {figures['seconds']} s: {figures['requests']} requests ({figures['requests_per_second']}/s), "
        f"{figures['errors']} errors, {figures['notifications']} notifications; RSS start "
        f"{figures['rss_start_kib'] / 1024:.1f} MiB, "
        f"after warm-up {figures['rss_after_warmup_kib'] / 1024:.1f}, "
        f"end {figures['rss_end_kib'] / 1024:.1f}, max {figures['rss_max_kib'] / 1024:.1f}; growth after "
        f"warm-up {figures['growth_after_warmup_kib'] / 1024:.1f} MiB"
    )


if __name__ == "__main__":
    main()
