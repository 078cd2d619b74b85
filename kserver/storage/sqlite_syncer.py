"""Make committed groups durable off the writer thread: one fsync of the WAL for every group since the last.

The writer commits every group with ``synchronous=NORMAL``: SQLite writes the
group's WAL frames (a killed process loses nothing, the OS holds them) but
does not fsync them. Durable operations are then handed here, and this
thread's ``fsync`` of the WAL file makes them survive a power cut before their
callers are answered. Acknowledged writes get the guarantee of
``synchronous=FULL`` (which would fsync inside COMMIT, while the writer waits),
but the writer goes on with the next group during the fsync, and one fsync
covers every group committed while the previous one ran.

When the writer has nothing else queued after a commit, it syncs the group
itself (``sync_here``) instead of waking this thread: nothing could run during
the fsync anyway, and the wake-up is saved (~40 µs a group here).

Why a sync on our own descriptor is enough: ``fdatasync`` flushes the file (the
inode), whichever descriptor wrote to it. The WAL file exists from the first
commit and is only deleted when the last connection closes (the writer stops
this thread before it closes). Everything else SQLite syncs in NORMAL mode (the
WAL header at a restart, checkpoints) it still syncs itself.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence

from kserver.storage.handoff import Job, hand_back
from kserver.storage.port import StorageUnavailable

# What SQLite itself calls for the WAL at a synchronous=FULL commit: the data and the size, not the mtime.
_sync_data = getattr(os, "fdatasync", os.fsync)


class WalSyncer:
    """A thread that fsyncs ``wal_path`` for groups of committed jobs, then hands them back to their loops."""

    def __init__(self, wal_path: str) -> None:
        self._path = wal_path
        self._queue: queue.SimpleQueue[Sequence[Job] | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._loop, name="kserver-sqlite-syncer", daemon=True)
        self._fd = -1
        self._lock = threading.Lock()  # the thread and ``sync_here`` share the descriptor and the count
        self.syncs = 0
        """fsyncs done so far (each covers one or more groups)."""

    def start(self) -> None:
        self._worker.start()

    def submit(self, jobs: Sequence[Job]) -> None:
        """From the writer thread, after COMMIT: answer ``jobs`` once the WAL is on disk."""
        self._queue.put(jobs)

    def stop(self) -> None:
        """Sync and answer what was submitted, then end the thread (blocks until it has)."""
        self._queue.put(None)
        if self._worker.is_alive():
            self._worker.join()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            jobs = list(first)
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                jobs.extend(more)
            self.sync_here(jobs)

    def sync_here(self, jobs: Sequence[Job]) -> None:
        """On the calling thread (this one's, or the writer's after a COMMIT with nothing queued
        behind it): sync the WAL, then answer ``jobs``."""
        try:
            with self._lock:
                self._sync()
        except OSError as exc:
            error = StorageUnavailable(f"sqlite: cannot sync the WAL: {exc}")
            for job in jobs:  # committed, but not known to be durable: the caller must not count on it
                job.result, job.error = None, error
        hand_back(jobs)

    def _sync(self) -> None:
        if self._fd < 0:
            self._fd = os.open(self._path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            # The WAL's directory entry must be durable too, once, for the file to be found after a power cut.
            directory = os.open(os.path.dirname(self._path) or ".", os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        _sync_data(self._fd)
        self.syncs += 1
