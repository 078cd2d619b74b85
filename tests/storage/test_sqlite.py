"""What only the SQLite engine promises: group commit, crash safety, reopening, a free event loop."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest

from kserver.storage import sqlite_syncer
from kserver.storage.filters import MATCH_ALL, Eq, Regexp
from kserver.storage.port import CollectionSpec, DuplicateKey, StorageUnavailable, Stored
from kserver.storage.sqlite import SqliteEngine, _connect, _Regexp

ROOT = Path(__file__).resolve().parents[2]
USERS = CollectionSpec("users", unique_paths=("name",))


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "nested" / "dir" / "k.db")


@pytest.fixture
async def sqlite(db_path: str) -> AsyncIterator[SqliteEngine]:
    engine = SqliteEngine(db_path)
    await engine.open([USERS])
    yield engine
    await engine.close()


async def test_creates_the_parent_directory(sqlite: SqliteEngine, db_path: str) -> None:
    await sqlite.create("users", "a", {}, durable=True)
    assert await asyncio.to_thread(Path(db_path).is_file)


async def test_group_commit_groups_concurrent_writes(sqlite: SqliteEngine) -> None:
    before = sqlite.commits
    await asyncio.gather(*(sqlite.create("t", f"id{i}", {"i": i}, durable=True) for i in range(256)))
    commits = sqlite.commits - before
    assert 1 <= commits < 256 / 4
    assert await sqlite.count("t", MATCH_ALL) == 256


async def test_group_max_bounds_a_group(db_path: str) -> None:
    engine = SqliteEngine(db_path, group_max=4)
    await engine.open([])
    try:
        before = engine.commits
        await asyncio.gather(*(engine.create("t", f"id{i}", {}, durable=False) for i in range(64)))
        assert engine.commits - before >= 64 // 4
    finally:
        await engine.close()


async def test_a_failing_write_fails_alone_in_its_group(sqlite: SqliteEngine) -> None:
    await sqlite.create("users", "holder", {"name": "taken"}, durable=False)
    before = sqlite.commits
    results = await asyncio.gather(
        *(
            sqlite.create("users", f"u{i}", {"name": "taken" if i % 3 == 0 else f"n{i}"}, durable=False)
            for i in range(30)
        ),
        return_exceptions=True,
    )
    assert sqlite.commits - before < 30
    for i, result in enumerate(results):
        if i % 3 == 0:
            assert isinstance(result, DuplicateKey)
            assert await sqlite.get("users", f"u{i}") is None
        else:
            assert result == Stored(f"u{i}", {"name": f"n{i}"}, 1)
            assert await sqlite.get("users", f"u{i}") == result


async def test_durable_writes_are_answered_after_a_wal_sync_that_they_share(sqlite: SqliteEngine) -> None:
    syncs_before = sqlite.syncs
    seen: list[int] = []

    async def write(i: int) -> None:
        await sqlite.create("t", f"d{i}", {"i": i}, durable=True)
        seen.append(sqlite.syncs)  # the sync that made this write durable is already counted

    await asyncio.gather(*(write(i) for i in range(256)))
    assert min(seen) > syncs_before
    assert 1 <= sqlite.syncs - syncs_before < 256 / 4


@pytest.fixture
def sync_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread of each WAL sync (the real sync still runs)."""
    names: list[str] = []
    real = sqlite_syncer._sync_data

    def spy(fd: int) -> None:
        names.append(threading.current_thread().name)
        real(fd)

    monkeypatch.setattr(sqlite_syncer, "_sync_data", spy)
    return names


async def test_a_durable_write_with_nothing_queued_behind_it_is_synced_by_the_writer(
    db_path: str, sync_threads: list[str]
) -> None:
    engine = SqliteEngine(db_path)
    await engine.open([USERS])
    try:
        sync_threads.clear()
        syncs_before = engine.syncs
        for i in range(5):
            await engine.create("users", f"u{i}", {"name": f"n{i}"}, durable=True)
            assert engine.syncs - syncs_before == len(sync_threads) == i + 1  # answered after its own sync
        assert sync_threads == ["kserver-sqlite-writer"] * 5
    finally:
        await engine.close()


async def test_a_group_with_another_queued_behind_it_is_synced_by_the_syncer(
    db_path: str, sync_threads: list[str]
) -> None:
    engine = SqliteEngine(db_path, group_max=16)
    await engine.open([USERS])
    try:
        sync_threads.clear()
        # one loop iteration queues 64 writes: the writer runs 4 groups of 16 back to back
        await asyncio.gather(
            *(engine.create("users", f"u{i}", {"name": f"n{i}"}, durable=True) for i in range(64))
        )
        assert engine.commits >= 4
        assert "kserver-sqlite-syncer" in sync_threads
    finally:
        await engine.close()


async def test_non_durable_writes_wait_for_no_sync(sqlite: SqliteEngine) -> None:
    syncs_before, commits_before = sqlite.syncs, sqlite.commits
    await asyncio.gather(*(sqlite.create("t", f"d{i}", {"i": i}, durable=False) for i in range(64)))
    assert sqlite.commits > commits_before
    assert sqlite.syncs == syncs_before


async def test_a_durable_group_answers_its_failed_writes_as_well(sqlite: SqliteEngine) -> None:
    await sqlite.create("users", "holder", {"name": "taken"}, durable=True)
    results = await asyncio.gather(
        *(
            sqlite.create("users", f"u{i}", {"name": "taken" if i % 4 == 0 else f"n{i}"}, durable=True)
            for i in range(40)
        ),
        return_exceptions=True,
    )
    for i, result in enumerate(results):
        if i % 4 == 0:
            assert isinstance(result, DuplicateKey)
        else:
            assert result == Stored(f"u{i}", {"name": f"n{i}"}, 1)


async def test_closing_answers_durable_writes_in_flight_and_keeps_the_answered_ones(db_path: str) -> None:
    engine = SqliteEngine(db_path)
    await engine.open([])
    writes = [asyncio.ensure_future(engine.create("t", f"d{i}", {"i": i}, durable=True)) for i in range(300)]
    await asyncio.sleep(0)  # the first writes reach the writer; the rest are still pending
    await engine.close()
    results = await asyncio.gather(*writes, return_exceptions=True)
    done = [i for i, result in enumerate(results) if isinstance(result, Stored)]
    assert done
    assert all(isinstance(r, Stored | StorageUnavailable) for r in results)

    reopened = SqliteEngine(db_path)
    await reopened.open([])
    try:
        assert await reopened.count("t", MATCH_ALL) >= len(done)
        assert all([await reopened.get("t", f"d{i}") is not None for i in done])
    finally:
        await reopened.close()


async def test_reopening_keeps_documents_and_unique_values(db_path: str) -> None:
    first = SqliteEngine(db_path)
    await first.open([USERS])
    await first.create("users", "a", {"name": "ann"}, durable=False)
    await first.update("users", "a", {"x": 1}, durable=False)
    await first.close()

    second = SqliteEngine(db_path)
    await second.open([USERS])
    try:
        assert await second.get("users", "a") == Stored("a", {"name": "ann", "x": 1}, 2)
        with pytest.raises(DuplicateKey):
            await second.create("users", "b", {"name": "ann"}, durable=False)
    finally:
        await second.close()


async def test_a_new_unique_path_is_backfilled(db_path: str) -> None:
    engine = SqliteEngine(db_path)
    await engine.open([CollectionSpec("users")])
    await engine.create("users", "a", {"name": "ann", "mail": ["a@x", "b@x"]}, durable=False)
    await engine.create("users", "b", {"name": "bob"}, durable=False)
    await engine.open([CollectionSpec("users", unique_paths=("mail",))])
    try:
        with pytest.raises(DuplicateKey) as caught:
            await engine.create("users", "c", {"mail": "b@x"}, durable=False)
        assert caught.value.holder == "a"
        assert [hit.id for hit in (await engine.search("users", Eq("mail", "a@x"))).hits] == ["a"]
    finally:
        await engine.close()


async def test_a_unique_path_existing_data_violates_fails_open(db_path: str) -> None:
    engine = SqliteEngine(db_path)
    await engine.open([CollectionSpec("users")])
    await engine.create("users", "a", {"name": "same"}, durable=False)
    await engine.create("users", "b", {"name": "same"}, durable=False)
    await engine.close()

    engine = SqliteEngine(db_path)
    with pytest.raises(DuplicateKey) as caught:
        await engine.open([USERS])
    assert (caught.value.path, caught.value.value, caught.value.holder) == ("name", "same", "a")
    assert "cannot become unique" in "".join(caught.value.__notes__)
    await engine.open([CollectionSpec("users")])  # nothing half-applied: the old spec still opens
    try:
        await engine.create("users", "c", {"name": "same"}, durable=False)
    finally:
        await engine.close()


async def test_a_dropped_unique_path_is_no_longer_enforced(db_path: str) -> None:
    engine = SqliteEngine(db_path)
    await engine.open([USERS])
    await engine.create("users", "a", {"name": "ann"}, durable=False)
    await engine.open([CollectionSpec("users")])
    try:
        await engine.create("users", "b", {"name": "ann"}, durable=False)
        assert await engine.count("users", Eq("name", "ann")) == 2
    finally:
        await engine.close()


def test_writers_switching_a_new_file_to_wal_at_once_all_succeed(tmp_path: Path) -> None:
    """Two ``--workers`` open the same fresh file: SQLite answers the WAL switch "database is
    locked" without waiting for busy_timeout (about 1 in 400 here); the engine retries it."""
    failures: list[BaseException] = []
    for round_no in range(300):
        path = str(tmp_path / f"race{round_no}.db")
        start = threading.Barrier(4)

        def connect(path: str = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                _connect(path, _Regexp(), writer=True).close()
            except sqlite3.Error as exc:
                failures.append(exc)

        threads = [threading.Thread(target=connect) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


async def test_closed_or_unopened_engine_refuses_calls(db_path: str) -> None:
    engine = SqliteEngine(db_path)
    assert await engine.ping() is False
    with pytest.raises(StorageUnavailable):
        await engine.get("users", "a")
    await engine.open([])
    await engine.close()
    with pytest.raises(StorageUnavailable):
        await engine.create("users", "a", {}, durable=False)
    assert await engine.ping() is False


async def test_bad_paths_and_patterns_are_value_errors(sqlite: SqliteEngine) -> None:
    with pytest.raises(ValueError, match="regular expression"):
        await sqlite.search("users", Regexp("name", "("))
    with pytest.raises(ValueError, match="path"):
        await sqlite.count("users", Eq("a..b", 1))
    with pytest.raises(ValueError, match="negative"):
        await sqlite.search("users", MATCH_ALL, offset=-1)


async def _ticks_during(pending: Awaitable[Any]) -> int:
    """How many times a ``sleep(0)`` ticker ran while ``pending`` was pending."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start = ticks
    await pending
    task.cancel()
    return ticks - start


async def test_the_event_loop_is_never_blocked(sqlite: SqliteEngine) -> None:
    # Each call below is one long SQLite statement; run on the loop, it would let no tick through.
    text = "lorem ipsum dolor sit amet " * 40
    burst = asyncio.gather(
        *(sqlite.create("t", f"d{i}", {"text": text, "i": i}, durable=True) for i in range(3000))
    )
    assert await _ticks_during(burst) > 100
    search = asyncio.ensure_future(sqlite.search("t", Regexp("text", "(amet ){40}zz")))
    assert await _ticks_during(search) > 100
    assert search.result().total == 0
    delete = asyncio.ensure_future(sqlite.delete_matching("t", Regexp("text", "lorem.*amet $"), durable=True))
    assert await _ticks_during(delete) > 100
    assert delete.result() == 3000


def _long_read(conn: Any) -> int:
    """Most of a second of SQLite work that holds no GIL (a recursive count)."""
    count = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000000) "
    row = conn.execute(count + "SELECT count(*) FROM n").fetchone()
    return int(row[0])


async def test_reads_by_id_do_not_queue_behind_long_reads(sqlite: SqliteEngine) -> None:
    """A read by id runs on the caller's thread: with every reader thread busy with a long read,
    it is answered at once, and it sees a write acknowledged just before."""
    await sqlite.create("users", "a", {"name": "ann"}, durable=False)
    busy = []
    for _ in range(2):  # one per reader thread: each takes what is queued when it is free
        busy.append(asyncio.ensure_future(sqlite._read(_long_read)))
        await asyncio.sleep(0.05)
    await sqlite.update("users", "a", {"n": 1}, durable=False)
    got = await asyncio.wait_for(sqlite.get("users", "a"), 0.2)
    assert got is not None
    assert got.source == {"name": "ann", "n": 1}
    assert not any(read.done() for read in busy)
    assert await asyncio.gather(*busy) == [4_000_000] * 2


async def test_reads_by_id_see_every_write_acknowledged_before_them(sqlite: SqliteEngine) -> None:
    """Reads by id share one snapshot per loop iteration. 40 writers update their own document and
    read it back after each acknowledgment, while 4 readers read any document: no read returns a
    value older than the last one acknowledged before the read began."""
    docs = 40
    acked = [0] * docs
    await asyncio.gather(*(sqlite.create("t", f"d{i}", {"v": 0}, durable=False) for i in range(docs)))

    async def writer(i: int) -> None:
        for v in range(1, 40):
            await sqlite.update("t", f"d{i}", {"v": v}, durable=v % 4 == 0)
            acked[i] = v
            got = await sqlite.get("t", f"d{i}")
            assert got is not None
            assert got.source["v"] == v

    async def reader(k: int) -> int:
        reads = 0
        while min(acked) < 39:
            j = (reads * 7 + k) % docs
            floor = acked[j]
            got = await sqlite.get("t", f"d{j}")
            assert got is not None
            assert got.source["v"] >= floor, (j, got.source["v"], floor)
            reads += 1
            await asyncio.sleep(0)
        return reads

    readers = [asyncio.ensure_future(reader(k)) for k in range(4)]
    await asyncio.gather(*(writer(i) for i in range(docs)))
    assert all(reads > 0 for reads in await asyncio.gather(*readers))


async def test_a_read_by_id_falls_back_to_the_readers(sqlite: SqliteEngine) -> None:
    """When the inline connection fails (here: closed under it; in life: a busy file, which it never
    waits for on the loop), the reader threads answer the read."""
    await sqlite.create("users", "a", {"name": "ann"}, durable=False)
    assert sqlite._inline_reader is not None
    sqlite._inline_reader.close()
    got = await sqlite.get("users", "a")
    assert got is not None
    assert got.source == {"name": "ann"}


@pytest.mark.slow
async def test_a_killed_process_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path = str(tmp_path / "crash.db")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.storage.sqlite_crash_writer",
        path,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    acknowledged: list[str] = []
    async with asyncio.timeout(20):
        while len(acknowledged) < 3000:
            line = await proc.stdout.readline()
            assert line.endswith(b"\n"), "the writer stopped early"
            acknowledged.append(line.decode().strip())
        os.kill(proc.pid, signal.SIGKILL)
        rest = await proc.stdout.read()
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    acknowledged += [line for line in rest.decode().split("\n")[:-1]]  # a cut last line was not acknowledged

    engine = SqliteEngine(path)
    await engine.open([])
    try:
        found = await engine.mget("things", acknowledged)
        assert [stored.id for stored in found] == acknowledged
    finally:
        await engine.close()
