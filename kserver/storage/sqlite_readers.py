"""A few read-only SQLite connections, one thread each, off the event loop, reading in batches.

In WAL mode a reader that is not inside a transaction starts a new snapshot at
each statement, so it sees every write committed before it: an acknowledged
write is always visible to the next read.

Reads are queued (a loop iteration's worth at a time, see ``handoff``); a
reader thread takes everything queued (up to ``batch_max``), runs it, and hands
all the results back to the event loop at once: one thread wake-up and one
loop wake-up per batch, not per read, which is what an executor per call costs
(a self-pipe write and a loop iteration each).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kserver.storage.handoff import Handoff, hand_back, reject
from kserver.storage.port import StorageUnavailable

T = TypeVar("T")


@dataclass(slots=True)
class _Read:
    run: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    result: Any = None
    error: BaseException | None = None


class ReaderPool:
    """Runs read functions on its connections, each owned by one thread, in batches."""

    def __init__(self, conns: list[sqlite3.Connection], *, batch_max: int = 64) -> None:
        self._conns = conns
        self._batch_max = batch_max
        self._handoff: Handoff[_Read] = Handoff(workers=len(conns), reject=reject)
        self._closed = False
        self._threads = [
            threading.Thread(target=self._loop, args=(conn,), name="kserver-sqlite-read", daemon=True)
            for conn in conns
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, read: Callable[[sqlite3.Connection], T]) -> T:
        """``read(conn)``'s result; sqlite errors become StorageUnavailable."""
        if self._closed:
            raise StorageUnavailable("the sqlite engine is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._handoff.put(loop, _Read(read, future, loop))
        return await future

    def _loop(self, conn: sqlite3.Connection) -> None:
        carry: list[_Read] = []
        try:
            while (batch := self._handoff.take(carry, self._batch_max)) is not None:
                for read in batch:
                    self._run_one(conn, read)
                hand_back(batch)
        finally:
            conn.close()

    @staticmethod
    def _run_one(conn: sqlite3.Connection, read: _Read) -> None:
        try:
            read.result = read.run(conn)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = StorageUnavailable(f"sqlite: {exc}")
            error.__cause__ = exc
            read.error = error
        except Exception as exc:  # the caller's bad input (e.g. a bad regexp): raise it there
            read.error = exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._handoff.close(asyncio.get_running_loop())
        await asyncio.to_thread(self._join)

    def _join(self) -> None:
        for thread in self._threads:
            thread.join()
