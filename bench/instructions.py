"""Instructions per request, counted by valgrind: figures this machine's noise cannot move.

Throughput ratios from ``bench/run`` move by 5 to 10% between runs on this machine (two shared, noisy
cores), more than most single changes to a request's path are worth. The number of instructions a
request executes does not depend on the neighbours: this counts them.

Each measurement runs in-process, without sockets or system calls on the request path: the target
is served by the uvicorn WebSocket protocol it runs under in ``bench/run`` (kserver's subclass of
websockets-sansio with the direct path for kserver and the floor, uvicorn's own for the echo),
``CONNECTIONS`` connections over a fake transport, every connection sending one frame, then the
driver waiting (on a future, without polling) until every connection has answered: as the load
generator's 64 connections with one request in flight. The whole process runs under
``valgrind --tool=callgrind --separate-threads=yes``, twice, with ``--small`` and ``--large`` frames
per connection: the difference of the two totals divided by the difference of frames is the cost of
one frame with start-up, seeding and login taken out. The client side's work (encoding and masking
every frame before the rounds, in interpreted Python: ``harness``) grows with the frames too; two
more runs that prepare the frames without serving them measure it, and it is taken out of ``loop``
(until 2026-11-25 evening it was not: it counted for every target alike, 19k to 26k per frame,
and brought every ratio nearer to 1). The first round of replies is checked
(status 200, or the frame itself for the echo) in both runs, so it cancels out too. Threads are
counted apart: ``loop`` is the event loop's thread, ``threads`` all the others (SQLite's writer and
syncer for writes); the server runs on one core in ``bench/run``, so their sum is what a frame costs
it. Valgrind runs one thread at a time, and since the loop sleeps while the writer works, a write's
count depends no more on timing than a read's (the same to about 1% between runs).

Targets: ``echo`` (bench/echo_app.py), ``floor`` (bench/floor_app.py), ``kserver`` (embedded
engine, the first admin's token, 1,000 users); scenarios ``now``, ``get`` (authenticated
``security:getUser``), ``upsert-same`` and ``upsert-new`` (``security:upsertUser`` without
credentials, ``wait_for``: updates of the 1,000 users, creations), the frames of ``bench/run``.

``python bench/instructions.py [--targets echo,floor,kserver] [--scenarios now,get] [--json out]``
needs valgrind (Debian package ``valgrind``); one target and scenario takes 10 to 40 s, all of
them about 3 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CONNECTIONS = 64
TARGETS = ("echo", "floor", "kserver")
SCENARIOS = ("now", "get", "upsert-same", "upsert-new")
_SUMMARY = re.compile(r"^summary: (\d+)", re.MULTILINE)


class Round:
    """Wakes the driver once every connection has written something: no polling, so the loop
    sleeps (and executes nothing) while a writer thread works."""

    def __init__(self) -> None:
        self.waiting = 0
        self.done: asyncio.Future[None] | None = None

    def arm(self, connections: int) -> asyncio.Future[None]:
        self.waiting = connections
        self.done = asyncio.get_running_loop().create_future()
        return self.done

    def answered(self) -> None:
        self.waiting -= 1
        if self.waiting == 0 and self.done is not None and not self.done.done():
            self.done.set_result(None)


class FakeTransport(asyncio.Transport):
    """What a protocol writes, kept in memory; never pauses, never closes by itself."""

    def __init__(self, round: Round | None = None) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closing = False
        self.round = round

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.written and self.round is not None:
            self.round.answered()
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 7512), "peername": ("127.0.0.1", 40000)}.get(name, default)


def frames_for(scenario: str, jwt: str) -> Callable[[int], bytes]:
    if scenario == "now":
        return lambda n: orjson.dumps({"controller": "server", "action": "now", "requestId": str(n)})
    if scenario == "get":
        return lambda n: orjson.dumps(
            {
                "controller": "security",
                "action": "getUser",
                "_id": f"m{n % 1000}",
                "jwt": jwt,
                "requestId": str(n),
            }
        )
    if scenario in ("upsert-same", "upsert-new"):
        same = scenario == "upsert-same"
        return lambda n: orjson.dumps(
            {
                "controller": "security",
                "action": "upsertUser",
                "_id": f"m{n % 1000}" if same else f"new-{n}",
                "jwt": jwt,
                "requestId": str(n),
                "body": {"content": {"profileIds": ["default"], "n": n}},
            }
        )
    raise ValueError(f"unknown scenario {scenario!r}")


async def drive(
    app: Any,
    protocol_class: type[Any],
    frames: Callable[[int], bytes],
    per_connection: int,
    *,
    proxy_headers: bool,
    settle: Callable[[], None] | None = None,
    serve: bool = True,
) -> int:
    """Serve ``per_connection`` frames on each of ``CONNECTIONS`` connections; returns the replies.

    Raises when a reply of the first round is not a success (or, for the echo, not the frame).
    ``serve=False`` does everything but serving the frames (the ``harness`` run of ``per_frame``)."""
    import uvicorn
    from uvicorn.server import ServerState
    from websockets.client import ClientProtocol
    from websockets.uri import parse_uri

    from bench.echo_app import TRANSPORT

    # as served in bench/run; proxy headers on for the echo, off for kserver and the floor
    config = uvicorn.Config(app, **{**TRANSPORT, "proxy_headers": proxy_headers})
    config.load()
    state = ServerState()
    round = Round()
    peers: list[tuple[Any, FakeTransport, ClientProtocol]] = []
    answered = round.arm(CONNECTIONS)
    for _ in range(CONNECTIONS):
        server, transport = protocol_class(config, state, {}), FakeTransport(round)
        server.connection_made(transport)
        client = ClientProtocol(parse_uri("ws://127.0.0.1:7512/"))
        client.send_request(client.connect())
        server.data_received(b"".join(client.data_to_send()))
        peers.append((server, transport, client))
    await _answered(answered)
    for _, transport, client in peers:  # the handshake answers
        client.receive_data(b"".join(transport.written))
        transport.written.clear()
        list(client.events_received())
    encoded: list[list[bytes]] = []
    for k, (_, _, client) in enumerate(peers):
        mine = []
        for r in range(per_connection):
            client.send_text(frames(k * per_connection + r))
            mine.append(b"".join(client.data_to_send()))
        encoded.append(mine)
    # kserver settles as it does once started; for every target the prepared frames are not its cost
    if settle is None:
        gc.collect()
        gc.freeze()
    else:
        settle()
    replies = 0
    for r in range(per_connection if serve else 0):
        answered = round.arm(CONNECTIONS)
        for k, (server, _, _) in enumerate(peers):
            server.data_received(encoded[k][r])
        await _answered(answered)
        if r == 0:
            _check_first(peers, frames, per_connection)
        for _, transport, _ in peers:
            replies += len(transport.written)
            transport.written.clear()
    for server, _, _ in peers:
        server.connection_lost(None)
    await asyncio.sleep(0)
    return replies


async def _answered(answered: asyncio.Future[None]) -> None:
    try:
        await asyncio.wait_for(answered, 60)
    except TimeoutError:
        raise RuntimeError("the server did not answer every connection") from None


def _check_first(
    peers: list[tuple[Any, FakeTransport, Any]], frames: Callable[[int], bytes], per: int
) -> None:
    for k, (_, transport, client) in enumerate(peers):
        client.receive_data(b"".join(transport.written))
        (event,) = list(client.events_received())
        reply = orjson.loads(event.data)
        sent = orjson.loads(frames(k * per))
        if reply != sent and reply.get("status") != 200:
            raise RuntimeError(f"not a success: {reply}")


async def run_child(target: str, scenario: str, per_connection: int, serve: bool = True) -> int:
    """The measured process: build ``target`` and drive ``scenario`` through it."""
    from kserver.transport.protocols import guarded_protocols

    ws_protocol = guarded_protocols(10.0)[1]
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        if target == "echo":
            from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

            from bench.echo_app import app as echo

            return await drive(
                echo,
                WebSocketsSansIOProtocol,
                frames_for(scenario, ""),
                per_connection,
                proxy_headers=True,
                serve=serve,
            )
        if target == "floor":
            from bench.floor_app import Floor, seed

            seed(f"{tmp}/floor.db")
            floor = Floor(f"{tmp}/floor.db", "floor-jwt")
            return await drive(
                floor,
                ws_protocol,
                frames_for(scenario, "floor-jwt"),
                per_connection,
                proxy_headers=False,
                serve=serve,
            )
        from bench.layers import running, seeded
        from kserver.app import build_app
        from kserver.cli import settle_gc
        from kserver.config import Settings
        from kserver.wire.context import Connection

        app = build_app(Settings(storage=f"sqlite:///{tmp}/k.db", jwt_secret="instructions-" + "z" * 64))
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(running(app))
            jwt = await seeded(app.router, Connection("websocket", push=lambda _: None))
            return await drive(
                app,
                ws_protocol,
                frames_for(scenario, jwt),
                per_connection,
                proxy_headers=False,
                settle=settle_gc,
                serve=serve,
            )


def count(
    valgrind: str, target: str, scenario: str, per_connection: int, serve: bool = True
) -> tuple[int, int]:
    """Instructions executed by one child process: (its main thread, every other thread).

    callgrind counts each thread apart (``--separate-threads``): the main thread runs the event loop,
    the others are SQLite's writer and syncer, the readers and the password hashers."""
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        out = Path(tmp) / "callgrind.out"
        argv = [
            valgrind,
            "--tool=callgrind",
            "--separate-threads=yes",
            f"--callgrind-out-file={out}",
            f"--log-file={Path(tmp) / 'valgrind.log'}",
            sys.executable,
            __file__,
            "--child",
            target,
            scenario,
            str(per_connection),
            *(() if serve else ("--harness-only",)),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, cwd=tmp)
        if done.returncode != 0:
            raise RuntimeError(f"{target} {scenario}: {done.stderr[-2000:]}")
        main = others = 0
        for part in Path(tmp).glob("callgrind.out-*"):  # one file per thread: -01 is the main one
            found = _SUMMARY.search(part.read_text())
            if found is None:
                raise RuntimeError(f"no instruction count in {part.name}")
            if part.name.endswith("-01"):
                main += int(found.group(1))
            else:
                others += int(found.group(1))
        if main == 0:
            raise RuntimeError("callgrind wrote no count for the main thread")
        return main, others


def per_frame(
    valgrind: str, target: str, scenario: str, small: int, large: int
) -> tuple[float, float, float]:
    """Instructions per frame: (on the event loop's thread, on the other threads, the harness's).

    The harness (the client side encoding and masking every frame before the measured rounds,
    in interpreted Python) grows with the frames too: the same two runs without serving give its
    share, taken out of the loop's figure (it would otherwise count for every target alike and
    bring every ratio nearer to 1)."""
    runs = [(small, True), (large, True), (small, False), (large, False)]
    with ThreadPoolExecutor(2) as pool:  # runs in parallel: counts do not depend on timing
        low, high, bare_low, bare_high = pool.map(lambda run: count(valgrind, target, scenario, *run), runs)
    frames = (large - small) * CONNECTIONS
    harness = (bare_high[0] - bare_low[0]) / frames
    return (high[0] - low[0]) / frames - harness, (high[1] - low[1]) / frames, harness


def measure(targets: list[str], scenarios: list[str], small: int, large: int) -> Iterator[dict[str, Any]]:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind not found (Debian package valgrind)")
    for scenario in scenarios:
        for target in targets:
            if target == "echo" and scenario != "now":
                continue  # the echo answers every frame alike: one scenario is its baseline
            loop, threads, harness = per_frame(valgrind, target, scenario, small, large)
            yield {
                "target": target,
                "scenario": scenario,
                "instructions": round(loop + threads),
                "loop": round(loop),
                "threads": round(threads),
                "harness": round(harness),
            }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--small", type=int, default=10, help="frames per connection, first run")
    parser.add_argument("--large", type=int, default=40, help="frames per connection, second run")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--child", nargs=3, metavar=("TARGET", "SCENARIO", "FRAMES"), help=argparse.SUPPRESS)
    parser.add_argument("--harness-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import uvloop

        target, scenario, frames = args.child
        replies = uvloop.run(run_child(target, scenario, int(frames), serve=not args.harness_only))
        if replies != (0 if args.harness_only else int(frames) * CONNECTIONS):
            raise SystemExit(f"{replies} replies to {int(frames) * CONNECTIONS} frames")
        return
    rows = list(measure(args.targets.split(","), args.scenarios.split(","), args.small, args.large))
    echo = next((row["instructions"] for row in rows if row["target"] == "echo"), None)
    head = ("target", "scenario", "instructions/frame", "x echo", "loop", "threads", "harness")
    print("{:<10} {:<12} {:>19} {:>7} {:>9} {:>9} {:>9}".format(*head))
    for row in rows:
        ratio = f"{row['instructions'] / echo:7.2f}" if echo else "      -"
        print(
            f"{row['target']:<10} {row['scenario']:<12} {row['instructions']:>19,} {ratio} "
            f"{row['loop']:>9,} {row['threads']:>9,} {row['harness']:>9,}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
