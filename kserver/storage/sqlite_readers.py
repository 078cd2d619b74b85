"""A few read-only SQLite connections, one thread each, off the event loop, reading in batches.

In WAL mode a reader that is not inside a transaction starts a new snapshot at
each statement, so it sees every write committed before it: an acknowledged
write is always visible to the next read.

Reads are queued; a reader thread takes everything queued (up to ``batch_max``),
runs it, and hands all the results back to the event loop at once: one thread
wake-up and one loop wake-up per batch, not per read, which is what an executor
per call costs (a self-pipe write and a loop iteration each).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kserver.storage.port import StorageUnavailable

T = TypeVar("T")


@dataclass(slots=True)
class _Read:
    run: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    result: Any = None
    error: BaseException | None = None


def _deliver(reads: list[_Read]) -> None:
    for read in reads:
        if read.future.done():  # the caller was cancelled
            continue
        if read.error is not None:
            read.future.set_exception(read.error)
        else:
            read.future.set_result(read.result)


class ReaderPool:
    """Runs read functions on its connections, each owned by one thread, in batches."""

    def __init__(self, conns: list[sqlite3.Connection], *, batch_max: int = 64) -> None:
        self._conns = conns
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[_Read | None] = queue.SimpleQueue()
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
        self._queue.put(_Read(read, future, loop))
        return await future

    def _loop(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < self._batch_max:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                for read in batch:
                    self._run_one(conn, read)
                by_loop: dict[asyncio.AbstractEventLoop, list[_Read]] = {}
                for read in batch:
                    by_loop.setdefault(read.loop, []).append(read)
                for loop, reads in by_loop.items():
                    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits
                        loop.call_soon_threadsafe(_deliver, reads)
                if stop:
                    return
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
        for _ in self._threads:
            self._queue.put(None)
        await asyncio.to_thread(self._join)

    def _join(self) -> None:
        for thread in self._threads:
            thread.join()
