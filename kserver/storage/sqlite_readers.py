"""A few read-only SQLite connections, each used by one thread at a time, off the event loop.

In WAL mode a reader that is not inside a transaction starts a new snapshot at
each statement, so it sees every write committed before it: an acknowledged
write is always visible to the next read.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from kserver.storage.port import StorageUnavailable

T = TypeVar("T")


class ReaderPool:
    """Runs read functions on idle connections in its own threads (one thread per connection)."""

    def __init__(self, conns: list[sqlite3.Connection]) -> None:
        self._conns = conns
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        for conn in conns:
            self._idle.put(conn)
        self._executor = ThreadPoolExecutor(max_workers=len(conns), thread_name_prefix="kserver-sqlite-read")

    async def run(self, read: Callable[[sqlite3.Connection], T]) -> T:
        """``read(conn)``'s result; sqlite errors become StorageUnavailable."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, read)

    def _call(self, read: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._idle.get()  # never waits: there are as many connections as threads
        try:
            return read(conn)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StorageUnavailable(f"sqlite: {exc}") from exc
        finally:
            self._idle.put(conn)

    async def close(self) -> None:
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        self._executor.shutdown(wait=True)
        for conn in self._conns:
            conn.close()
