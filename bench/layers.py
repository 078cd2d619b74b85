"""Where an authenticated ``security:getUser`` spends its CPU in kserver, layer by layer, in-process.

Builds kserver on a fresh SQLite file (the first admin, a login, 1,000 users), then times each
stage of a getUser on the same frames, one after the other, best of ``--rounds`` passes of
``--frames`` frames (no sockets, no concurrency: the CPU of each layer alone):

- the frame's JSON decode, the request model (``request_from_object``), the nesting check;
- the router's gate: ``admit`` (jwt, user, rights; from their caches, as on a connection's first
  request or over HTTP) and ``admitted`` (the connection's memo of that answer, every later frame);
- the whole ``Router.dispatch`` (gate, handler, envelope), and the handler by difference;
- the engine's read by id alone, and the SQL statement alone;
- the envelope and its encoding;

and next to them the floor's work (``bench/floor_app.py``): decode, one SQL read, decode the
source, encode an envelope. ``python bench/layers.py [--frames 50000] [--rounds 3] [--json out]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kserver.app import build_app
from kserver.config import Settings
from kserver.router import Router
from kserver.services.collections import USERS
from kserver.storage.port import CollectionSpec
from kserver.storage.sqlite import SqliteEngine
from kserver.transport.asgi import KServerASGI
from kserver.wire.context import Connection
from kserver.wire.envelope import dumps, envelope
from kserver.wire.request import json_too_deep, parse_frame, request_from_object

USERS_SEEDED = 1000
PASSWORD = "layers-password-1"


@asynccontextmanager
async def running(app: KServerASGI) -> AsyncIterator[None]:
    """The app's ASGI lifespan: startup on enter, shutdown on exit."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send(message: Any) -> None:
        await outbox.put(message)

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"kserver did not start: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def seeded(router: Router, connection: Connection) -> str:
    """Through ``router``: the first admin, a login and ``USERS_SEEDED`` users m0..; the admin's jwt."""

    async def query(frame: dict[str, Any]) -> Any:
        body = (await router.dispatch(parse_frame(orjson.dumps(frame)), connection)).body
        if body["error"] is not None:
            raise RuntimeError(f"{frame['action']}: {body['error']}")
        return body["result"]

    credentials = {"username": "admin", "password": PASSWORD}
    await query(
        {
            "controller": "security",
            "action": "createFirstAdmin",
            "_id": "admin",
            "body": {"content": {}, "credentials": {"local": credentials}},
        }
    )
    jwt: str = (
        await query({"controller": "auth", "action": "login", "strategy": "local", "body": credentials})
    )["jwt"]
    users = [{"_id": f"m{i}", "content": {"profileIds": ["default"], "i": i}} for i in range(USERS_SEEDED)]
    await query({"controller": "security", "action": "mUpsertUsers", "jwt": jwt, "body": {"users": users}})
    return jwt


def run_now(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that must not wait (everything here is served from caches or the loop)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("this stage waited: it cannot be timed in-process")


def best_us(passes: int, items: list[Any], stage: Callable[[Any], object]) -> float:
    """Best per-item µs over ``passes`` passes of ``stage`` over ``items``."""
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for item in items:
            stage(item)
        best = min(best, (time.perf_counter() - start) / len(items) * 1e6)
    return round(best, 2)


async def measure(directory: Path, frames: int, passes: int) -> dict[str, float]:
    path = directory / "k.db"
    app = build_app(Settings(storage=f"sqlite:///{path}", jwt_secret="layers-secret-" + "z" * 64))
    connection = Connection("websocket", push=lambda _: None)
    router = app.router

    async with running(app):
        jwt = await seeded(router, connection)

        store = SqliteEngine(str(path))
        await store.open([CollectionSpec(USERS)])
        plain = sqlite3.connect(path, isolation_level=None)
        try:
            raw = [
                orjson.dumps(
                    {
                        "controller": "security",
                        "action": "getUser",
                        "_id": f"m{n % USERS_SEEDED}",
                        "jwt": jwt,
                        "requestId": str(n),
                    }
                )
                for n in range(frames)
            ]
            decoded = [orjson.loads(frame) for frame in raw]
            requests = [request_from_object(data, "websocket") for data in decoded]
            ids = [request.id() for request in requests]
            result = run_now(router.dispatch(requests[0], connection)).body["result"]
            gate, conn = router.gate, connection
            once = Connection("http")  # no push: admitted through the caches, never memoised
            select = "SELECT version, source FROM docs WHERE collection = ? AND id = ?"

            def floor_work(frame: bytes) -> str:
                data = orjson.loads(frame)
                row = plain.execute(select, (USERS, data["_id"])).fetchone()
                source = orjson.loads(row[1])
                answer = {"requestId": data["requestId"], "status": 200, "error": None, "result": source}
                return orjson.dumps(answer).decode()

            gc.collect()
            gc.freeze()  # as kserver does once started: the prepared frames are not the stages' cost
            plain.execute("BEGIN")  # one read transaction, as the engines' per-iteration snapshot
            figures = {
                "decode": best_us(passes, raw, orjson.loads),
                "request_model": best_us(passes, decoded, lambda d: request_from_object(d, "websocket")),
                "nesting_check": best_us(passes, raw, lambda frame: json_too_deep(frame, None)),
                "admit": best_us(passes, requests, lambda r: run_now(gate.admit(r, once))),
                "admitted": best_us(passes, requests, lambda r: gate.admitted(r, conn)),
                "dispatch": best_us(passes, requests, lambda r: run_now(router.dispatch(r, conn))),
                "engine_get": best_us(passes, ids, lambda id: run_now(store.get(USERS, id))),
                "sql_read": best_us(passes, ids, lambda id: plain.execute(select, (USERS, id)).fetchone()),
                "envelope_encode": best_us(
                    passes, requests, lambda r: dumps(envelope(r, router.node, result=result))
                ),
                "floor_work": best_us(passes, raw, floor_work),
            }
            plain.execute("COMMIT")
            gc.unfreeze()
        finally:
            plain.close()
            await store.close()
    envelope_build = best_us(passes, requests[:1000], lambda r: envelope(r, router.node, result=result))
    figures["handler_by_difference"] = round(figures["dispatch"] - figures["admitted"] - envelope_build, 2)
    figures["kserver_total"] = round(
        figures["decode"]
        + figures["request_model"]
        + figures["nesting_check"]
        + figures["dispatch"]
        + figures["envelope_encode"]
        - envelope_build,
        2,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3, help="passes per stage (the best one counts)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-layers-") as tmp:
        figures = uvloop.run(measure(Path(tmp), args.frames, args.rounds))
    for name, value in figures.items():
        print(f"{name:<24} {value:>7.2f} µs")
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
