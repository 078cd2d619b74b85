"""A process that writes to a SQLite engine and prints each id once its write is acknowledged.

``python -m tests.storage.sqlite_crash_writer DB_PATH``: 16 concurrent writers
upsert ids ``w<worker>-<n>`` (every fifth durable) until the process is killed.
The crash test kills it with SIGKILL and checks that every printed id is stored.
"""

from __future__ import annotations

import asyncio
import sys

from kserver.storage.port import CollectionSpec
from kserver.storage.sqlite import SqliteEngine

WORKERS = 16


async def _worker(engine: SqliteEngine, worker: int) -> None:
    n = 0
    while True:
        id = f"w{worker}-{n}"
        await engine.upsert("things", id, {"n": n, "pad": "x" * 200}, {"worker": worker}, durable=n % 5 == 0)
        sys.stdout.write(id + "\n")
        sys.stdout.flush()
        n += 1


async def main(path: str) -> None:
    engine = SqliteEngine(path)
    await engine.open([CollectionSpec("things")])
    await asyncio.gather(*(_worker(engine, w) for w in range(WORKERS)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
