"""Login throughput vs the machine's raw argon2id rate, and event-loop latency during a login storm.

Runs a real kserver (default argon2 settings unless overridden), seeds users, then in one run:
1. raw argon2id hashes/s with every core (thread pool, the GIL is released while hashing);
2. logins/s through the server with ``--clients`` WebSocket clients for ``--seconds``;
3. ``server:now`` round-trip p50/p99 on another connection during that storm (goal p99 <= 10 ms).

    python -m bench.login_bench [--seconds 5] [--clients 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import argon2

from kserver.config import Settings
from tests.kclient import KClient, kclient
from tests.security.auth_world import SeedUser, seed
from tests.server_process import start_server


def raw_hash_rate(settings: Settings, seconds: float) -> float:
    hasher = argon2.PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    workers = settings.hash_workers or os.cpu_count() or 1
    done = 0
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        while time.perf_counter() - start < seconds:
            list(pool.map(lambda _: hasher.hash("bench-password"), range(workers * 2)))
            done += workers * 2
    return done / (time.perf_counter() - start)


async def storm(client: KClient, username: str, stop: float, latencies: list[float]) -> int:
    count = 0
    while time.perf_counter() < stop:
        begin = time.perf_counter()
        reply = await client.query(
            {
                "controller": "auth",
                "action": "login",
                "strategy": "local",
                "body": {"username": username, "password": "pw"},
            }
        )
        assert reply["error"] is None, reply["error"]
        latencies.append(time.perf_counter() - begin)
        count += 1
    return count


async def probe(client: KClient, stop: float, latencies: list[float]) -> None:
    while time.perf_counter() < stop:
        begin = time.perf_counter()
        reply = await client.query({"controller": "server", "action": "now"})
        assert reply["error"] is None
        latencies.append(time.perf_counter() - begin)
        await asyncio.sleep(0.005)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def measure(url: str, clients: int, seconds: float) -> dict[str, Any]:
    login_latencies: list[float] = []
    now_latencies: list[float] = []
    async with kclient(url) as prober:
        connections = [kclient(url) for _ in range(clients)]
        opened = [await c.__aenter__() for c in connections]
        try:
            await opened[0].query({"controller": "server", "action": "now"})
            stop = time.perf_counter() + seconds
            counts, _ = await asyncio.gather(
                asyncio.gather(*(storm(c, f"bench{i}", stop, login_latencies) for i, c in enumerate(opened))),
                probe(prober, stop, now_latencies),
            )
        finally:
            for c in connections:
                await c.__aexit__(None, None, None)
    return {
        "logins_per_s": sum(counts) / seconds,
        "login_p50_ms": percentile(login_latencies, 0.5) * 1000,
        "now_p50_ms": percentile(now_latencies, 0.5) * 1000,
        "now_p99_ms": percentile(now_latencies, 0.99) * 1000,
        "now_samples": len(now_latencies),
    }


_DEFAULTS = Settings()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--argon2-memory-kib", type=int, default=_DEFAULTS.argon2_memory_kib)
    parser.add_argument("--argon2-time-cost", type=int, default=_DEFAULTS.argon2_time_cost)
    parser.add_argument("--json", type=Path, default=None)
    options = parser.parse_args()
    settings = Settings(
        argon2_memory_kib=options.argon2_memory_kib, argon2_time_cost=options.argon2_time_cost
    )
    with tempfile.TemporaryDirectory() as tmp:
        storage = f"sqlite:///{Path(tmp) / 'bench.db'}"
        users = [SeedUser(f"bench-{i}", f"bench{i}", "pw") for i in range(options.clients)]
        asyncio.run(seed(storage, users))
        args = (
            "--jwt-secret",
            "bench-secret-" + "z" * 64,
            "--argon2-memory-kib",
            str(settings.argon2_memory_kib),
            "--argon2-time-cost",
            str(settings.argon2_time_cost),
            "--login-failures-per-minute",
            "0",
        )
        server = start_server(Path(tmp), storage=storage, args=args)
        try:
            # the seeded hashes use test parameters: one login each upgrades them to the bench's
            asyncio.run(measure(server.ws_url, options.clients, 0.5))
            raw = raw_hash_rate(settings, options.seconds)
            result = asyncio.run(measure(server.ws_url, options.clients, options.seconds))
        finally:
            server.stop()
    result.update(
        {
            "raw_hashes_per_s": raw,
            "cores": os.cpu_count(),
            "argon2": {"memory_kib": settings.argon2_memory_kib, "time_cost": settings.argon2_time_cost},
            "clients": options.clients,
            "seconds": options.seconds,
        }
    )
    result["login_vs_raw"] = result["logins_per_s"] / raw if raw else float("nan")
    rows = [
        ("raw argon2id hashes/s (all cores)", f"{raw:9.1f}"),
        ("logins/s through the server", f"{result['logins_per_s']:9.1f}"),
        ("logins / raw hashes", f"{result['login_vs_raw']:9.2f}"),
        ("login p50 (ms)", f"{result['login_p50_ms']:9.1f}"),
        ("server:now p50 during storm (ms)", f"{result['now_p50_ms']:9.2f}"),
        ("server:now p99 during storm (ms)", f"{result['now_p99_ms']:9.2f}  (goal <= 10)"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if options.json is not None:
        options.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
