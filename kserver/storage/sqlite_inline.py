"""Reads by id on the event loop's thread, one SQLite read transaction per loop iteration.

On the loop: one indexed lookup in pages the OS has cached costs less than a trip to a reader
thread and back. The connection never waits (``busy_timeout = 0``): on any error the engine
sends the read to its reader threads instead.

One transaction per iteration: in WAL mode every read transaction takes and drops a read lock on
the ``-shm`` file, two ``fcntl()`` system calls; under load tens of reads arrive in one loop
iteration and share one. The transaction opens at the iteration's first read and a ``call_soon``
callback ends it, so it never outlives the callbacks queued before it.

Visibility: a write is acknowledged by a loop callback resolving its caller's future, and the
caller goes on in a callback queued then, behind the end of any transaction opened before the
acknowledgment. So whatever runs after an acknowledged write, the writer's own continuation or a
request sent by a client who got the answer, reads in a transaction opened after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

from kserver.storage import sqlite_docs as docs
from kserver.storage.port import Stored


class InlineReader:
    """Point reads on the caller's thread (an event loop's), batched into per-iteration snapshots."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA busy_timeout = 0")  # never wait on the loop
        self._conn = conn
        self._open = False

    def get(self, collection: str, id: str) -> Stored | None:
        """The document, read in this iteration's transaction; raises sqlite3.Error (busy...)."""
        conn = self._conn
        if not self._open:
            conn.execute("BEGIN")  # deferred: the snapshot starts at the first read
            self._open = True
            asyncio.get_running_loop().call_soon(self._end)
        return docs.get(conn, collection, id)

    def _end(self) -> None:
        self._open = False
        with contextlib.suppress(sqlite3.Error):  # closed meanwhile, or nothing began
            self._conn.execute("COMMIT")  # it wrote nothing: this only ends the snapshot

    def close(self) -> None:
        self._open = False
        self._conn.close()
