"""Hand jobs from event loops to worker threads in batches: one queue put per loop iteration.

When a group commit resolves 64 callers, they all run in the same loop
iteration and each queues its next job. Put one by one, the first wakes the
worker thread, which takes the one or two jobs queued so far and starts a
small group, while the other callers' jobs wait for the next. Here jobs queued
during one loop iteration are held in a list, and a callback scheduled with
``call_soon`` (so it runs after every callback already scheduled, those
callers included) puts the whole list at once: the worker sees the iteration's
jobs together, and the queue's lock and the thread wake-up are paid once per
batch instead of once per job.

Closing: ``close()`` tells each worker to stop once the queue is drained. A
job that reaches a closed handoff (it was pending in a loop when the workers
stopped) is failed with ``StorageUnavailable`` through ``reject``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from kserver.storage.port import StorageUnavailable

J = TypeVar("J")


class Job(Protocol):
    """What the worker threads' jobs have: the caller's loop and future, and the outcome to set."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    result: Any
    error: BaseException | None


def deliver(jobs: Sequence[Job]) -> None:
    """On the jobs' loop: resolve each caller's future with its job's result or error."""
    for job in jobs:
        if job.future.done():  # the caller was cancelled; a write may still have happened
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.result)


def reject(jobs: Sequence[Job], error: BaseException) -> None:
    """On the jobs' loop: fail every caller with ``error``."""
    for job in jobs:
        job.error = error
    deliver(jobs)


def hand_back(jobs: Sequence[Job]) -> None:
    """From a worker thread: ``deliver`` each loop's jobs, once per loop, on that loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Job]] = {}
    for job in jobs:
        by_loop.setdefault(job.loop, []).append(job)
    for loop, own in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for these results
            loop.call_soon_threadsafe(deliver, own)


class Handoff(Generic[J]):
    """A queue of jobs from event loops to ``workers`` threads; ``take`` gives each thread a group."""

    def __init__(self, *, workers: int, reject: Callable[[list[J], BaseException], None]) -> None:
        self._queue: queue.SimpleQueue[list[J] | None] = queue.SimpleQueue()
        self._pending: dict[asyncio.AbstractEventLoop, list[J]] = {}
        self._reject = reject
        self._workers = workers
        self._lock = threading.Lock()
        self._stopped = 0
        self._closed = False

    def put(self, loop: asyncio.AbstractEventLoop, job: J) -> None:
        """Queue ``job`` from ``loop``'s thread; workers see it after this loop iteration's callbacks."""
        pending = self._pending.get(loop)
        if pending is None:
            self._pending[loop] = [job]
            loop.call_soon(self._flush, loop)
        else:
            pending.append(job)

    def flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand over ``loop``'s pending jobs now (``close`` does it for the closing loop)."""
        if loop in self._pending:
            self._flush(loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs = self._pending.pop(loop, None)
        if not jobs:
            return
        with self._lock:
            if self._stopped < self._workers:
                self._queue.put(jobs)
                return
        self._reject(jobs, StorageUnavailable("the sqlite engine is closed"))

    def close(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Flush ``loop``'s pending jobs, then let each worker stop once the queue is empty."""
        if self._closed:
            return
        if loop is not None:
            self.flush(loop)
        self._closed = True
        for _ in range(self._workers):
            self._queue.put(None)

    def idle(self) -> bool:
        """True when no job waits in the queue (jobs still pending in a loop iteration are not seen)."""
        return self._queue.empty()

    def take(self, carry: list[J], limit: int) -> list[J] | None:
        """The next group for a worker, at most ``limit`` jobs; None when the worker must stop.

        ``carry`` is the worker's own list of jobs taken but not yet run (a
        batch larger than ``limit``): they come first, and what is left over
        this time goes back into it.
        """
        group = carry[:]
        carry.clear()
        stopping = False
        if not group:
            first = self._queue.get()
            if first is None:
                stopping = True
            else:
                group = first
        while not stopping and len(group) < limit:
            try:
                batch = self._queue.get_nowait()
            except queue.Empty:
                break
            if batch is None:
                stopping = True
            else:
                group.extend(batch)
        if stopping:
            with self._lock:  # flushes check, under it, whether a worker is left to take their jobs
                group.extend(self._drain())
                if not group:
                    self._stopped += 1
                    return None
            self._queue.put(None)  # this worker's stop, seen again once the group has run
        if len(group) > limit:
            carry.extend(group[limit:])
            del group[limit:]
        return group

    def _drain(self) -> list[J]:
        jobs: list[J] = []
        nones = 0
        while True:
            try:
                batch = self._queue.get_nowait()
            except queue.Empty:
                break
            if batch is None:
                nones += 1
            else:
                jobs.extend(batch)
        for _ in range(nones):
            self._queue.put(None)
        return jobs
