"""The loop-to-thread handoff under the SQLite engine: batches per loop iteration, limits, closing."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from kserver.storage.handoff import Handoff
from kserver.storage.port import StorageUnavailable
from kserver.storage.sqlite import SqliteEngine

Rejected = list[tuple[list[int], BaseException]]


def _handoff(workers: int = 1) -> tuple[Handoff[int], Rejected]:
    rejected: Rejected = []
    return Handoff(workers=workers, reject=lambda jobs, error: rejected.append((jobs, error))), rejected


async def test_jobs_of_one_loop_iteration_reach_the_worker_together() -> None:
    handoff, _ = _handoff()
    loop = asyncio.get_running_loop()
    for job in range(10):
        handoff.put(loop, job)
    await asyncio.sleep(0)  # the flush callback runs after this iteration's callbacks
    handoff.put(loop, 10)
    await asyncio.sleep(0)
    carry: list[int] = []
    assert handoff.take(carry, 100) == list(range(11))
    assert carry == []


async def test_a_group_is_cut_at_the_limit_and_the_rest_comes_next_in_order() -> None:
    handoff, _ = _handoff()
    loop = asyncio.get_running_loop()
    for job in range(10):
        handoff.put(loop, job)
    await asyncio.sleep(0)
    carry: list[int] = []
    assert handoff.take(carry, 4) == [0, 1, 2, 3]
    assert handoff.take(carry, 4) == [4, 5, 6, 7]
    assert handoff.take(carry, 4) == [8, 9]


async def test_close_hands_over_the_closing_loops_pending_jobs_before_the_stop() -> None:
    handoff, rejected = _handoff()
    loop = asyncio.get_running_loop()
    handoff.put(loop, 1)
    handoff.put(loop, 2)
    handoff.close(loop)  # before the flush callback had a chance to run
    carry: list[int] = []
    assert handoff.take(carry, 64) == [1, 2]
    assert handoff.take(carry, 64) is None
    await asyncio.sleep(0)  # the scheduled flush finds nothing left
    assert rejected == []


async def test_jobs_flushed_after_every_worker_stopped_are_rejected_not_lost() -> None:
    handoff, rejected = _handoff(workers=2)
    loop = asyncio.get_running_loop()
    other = asyncio.new_event_loop()  # a second loop whose pending jobs close() does not flush
    try:
        handoff.put(other, 7)
        handoff.close(loop)
        carries: list[list[int]] = [[], []]
        results: list[list[int] | None] = []

        def worker(k: int) -> None:
            results.append(handoff.take(carries[k], 64))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert results == [None, None]
        handoff.flush(other)
        assert len(rejected) == 1
        jobs, error = rejected[0]
        assert jobs == [7]
        assert isinstance(error, StorageUnavailable)
    finally:
        other.close()


async def test_a_job_flushed_while_one_worker_is_left_goes_to_that_worker() -> None:
    handoff, rejected = _handoff(workers=2)
    loop = asyncio.get_running_loop()
    other = asyncio.new_event_loop()
    try:
        handoff.put(other, 7)
        handoff.close(loop)
        first: list[int] = []
        assert handoff.take(first, 64) is None  # one worker stops
        handoff.flush(other)
        second: list[int] = []
        assert handoff.take(second, 64) == [7]
        assert handoff.take(second, 64) is None
        assert rejected == []
    finally:
        other.close()


async def test_the_sqlite_engine_commits_writes_queued_in_the_iteration_it_closes(tmp_path: Path) -> None:
    path = str(tmp_path / "k.db")
    engine = SqliteEngine(path)
    await engine.open([])
    writes = [asyncio.ensure_future(engine.create("t", f"id{i}", {"i": i}, durable=True)) for i in range(8)]
    await asyncio.sleep(0)  # each write has reached the handoff; its flush is still scheduled
    await engine.close()
    assert [w.result().id for w in writes] == [f"id{i}" for i in range(8)]
    reopened = SqliteEngine(path)
    await reopened.open([])
    try:
        assert len(await reopened.mget("t", [f"id{i}" for i in range(8)])) == 8
    finally:
        await reopened.close()
