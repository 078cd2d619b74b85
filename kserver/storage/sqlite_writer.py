"""Group commit: one thread owns the write connection and commits queued operations together.

The thread takes everything queued (up to ``group_max``; jobs reach it a
loop iteration's worth at a time, see ``handoff``), runs it in one
transaction, commits once, then resolves every caller's future on its event
loop. A failing operation is rolled back alone and raises only in its caller:
an operation that writes more than one statement opens a SAVEPOINT first
(``Tx.savepoint``) and the writer rolls back to it; one that writes a single
statement needs none, since SQLite undoes a failed statement by itself (that
saves two statements per write on the hot path).

Durability: every group commits with ``synchronous=NORMAL`` (in WAL mode,
the WAL is written, so a killed process loses nothing, but not fsynced). Callers
of non-durable operations are answered at once; durable ones are handed to a
``WalSyncer`` thread, which fsyncs the WAL and then answers them (see
``sqlite_syncer``). One fsync covers every group committed meanwhile, and the
writer runs the next group during it instead of waiting inside COMMIT: with
``synchronous=FULL`` the writer and the disk would take turns. When no job is
queued after a commit there is no next group to run, so the writer syncs
itself (``WalSyncer.sync_here``) and spares the syncer's wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kserver.storage.handoff import Handoff, hand_back, reject
from kserver.storage.port import StorageError, StorageUnavailable
from kserver.storage.sqlite_syncer import WalSyncer

T = TypeVar("T")


class Tx:
    """What a write operation runs with: the writer's connection, inside the group's transaction."""

    __slots__ = ("conn", "has_savepoint")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.has_savepoint = False

    def savepoint(self) -> None:
        """Call before the operation's first write when it may write more than one statement."""
        if not self.has_savepoint:
            self.conn.execute("SAVEPOINT op")
            self.has_savepoint = True


Operation = Callable[[Tx], Any]


@dataclass(slots=True)
class _Job:
    run: Operation
    durable: bool
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    result: Any
    error: BaseException | None

    # An explicit __init__ (it sets result and error): mypyc compiles it; the one @dataclass writes
    # stays interpreted (per request).
    def __init__(
        self, run: Operation, durable: bool, future: asyncio.Future[Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.run = run
        self.durable = durable
        self.future = future
        self.loop = loop
        self.result = None
        self.error = None


def _translate(exc: Exception) -> BaseException:
    if isinstance(exc, sqlite3.Error):
        error = StorageUnavailable(f"sqlite: {exc}")
        error.__cause__ = exc
        return error
    return exc  # StorageError, or the caller's bad input (TypeError, ValueError)


class GroupWriter:
    """Runs write operations on ``conn`` (which it owns from ``start()``) in group-committed transactions.

    ``conn`` is in WAL mode with ``synchronous=NORMAL``; ``wal_path`` is its WAL file.
    """

    def __init__(self, conn: sqlite3.Connection, wal_path: str, *, group_max: int) -> None:
        if group_max < 1:
            raise ValueError("group_max must be at least 1")
        self._conn = conn
        self._group_max = group_max
        self._handoff: Handoff[_Job] = Handoff(workers=1, reject=reject)
        self._syncer = WalSyncer(wal_path)
        self._worker = threading.Thread(target=self._loop, name="kserver-sqlite-writer", daemon=True)
        self._closing = False
        self._carry: list[_Job] = []  # taken from the handoff beyond group_max, for the next group
        self.commits = 0
        """Transactions committed so far (groups, not operations)."""

    @property
    def syncs(self) -> int:
        """fsyncs of the WAL so far; fewer than durable groups when one covers several."""
        return self._syncer.syncs

    def start(self) -> None:
        self._syncer.start()
        self._worker.start()

    def submit(self, run: Callable[[Tx], T], *, durable: bool) -> asyncio.Future[T]:
        """Queue ``run``; the future resolves once its group is committed (and synced if ``durable``)."""
        if self._closing:
            raise StorageUnavailable("the sqlite engine is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._handoff.put(loop, _Job(run, durable, future, loop))
        return future

    async def stop(self) -> None:
        """Commit what is queued, then close the connection; later submits raise StorageUnavailable."""
        if self._closing:
            return
        self._closing = True
        self._handoff.close(asyncio.get_running_loop())
        if self._worker.is_alive():
            await asyncio.to_thread(self._worker.join)

    def _loop(self) -> None:
        try:
            while (group := self._handoff.take(self._carry, self._group_max)) is not None:
                self._commit_group(group)
        finally:
            self._syncer.stop()  # before closing: the last connection's close deletes the WAL
            self._conn.close()

    def _commit_group(self, group: list[_Job]) -> None:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            tx = Tx(conn)
            for job in group:
                self._run_one(job, tx)
            conn.execute("COMMIT")
            self.commits += 1
        except Exception as exc:
            # The transaction as a whole failed: none of the group's writes happened.
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            for job in group:
                job.result, job.error = None, _translate(exc)
            hand_back(group)
            return
        answer_now: list[_Job] = []  # failed or not durable: nothing to sync for them
        after_sync: list[_Job] = []
        for job in group:
            (after_sync if job.durable and job.error is None else answer_now).append(job)
        if answer_now:
            hand_back(answer_now)
        if after_sync:
            if self._carry or not self._handoff.idle():  # a next group waits: run it during the fsync
                self._syncer.submit(after_sync)
            else:
                self._syncer.sync_here(after_sync)

    def _run_one(self, job: _Job, tx: Tx) -> None:
        conn = self._conn
        tx.has_savepoint = False  # one Tx per group, one savepoint (at most) per operation
        try:
            job.result = job.run(tx)
        except Exception as exc:
            if isinstance(exc, sqlite3.Error) and not conn.in_transaction:
                raise  # SQLite rolled back the whole transaction
            if tx.has_savepoint:
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
            job.error = exc if isinstance(exc, StorageError) else _translate(exc)
        else:
            if tx.has_savepoint:
                conn.execute("RELEASE op")
