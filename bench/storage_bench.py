"""Durable upserts: raw stdlib sqlite3 against ``SqliteEngine.upsert(durable=True)``.

Both write the same rows (collection, id, version, JSON source of ~250 bytes),
half inserts and half updates, to WAL files synced at every commit
(``synchronous=FULL``):

- raw, grouped: single-row ``INSERT ... ON CONFLICT DO UPDATE``, 64 per transaction;
- engine: 64 concurrent callers of ``upsert(durable=True)`` (group commit): the goal's figure;
- engine, pipelined: 128 callers, so that one group fills while the other
  commits (reported apart: with 64 callers each group's callers wait for it, and
  the engine and its callers take turns);
- raw, one fsync per upsert (autocommit), for reference.

Both sides build their input rows first and move them out of the garbage
collector's sight (``gc.freeze``): tens of thousands of prepared dicts would
otherwise make every full collection during the run walk the bench's own
input, a cost neither SQLite nor the engine causes.

The machine is noisy, so raw and engine runs alternate for ``--rounds`` rounds
and the medians are reported. Prints ops/s and the engine/raw ratio (goal: at
least 0.5).

    python bench/storage_bench.py [--ops 20000] [--rounds 3] [--uvloop] [--dir DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kserver.storage.port import CollectionSpec
from kserver.storage.sqlite import SqliteEngine

CALLERS = 64
GROUP = 64
SCHEMA = (
    "CREATE TABLE docs (collection TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, "
    "source TEXT NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID"
)
UPSERT = (
    "INSERT INTO docs (collection, id, version, source) VALUES ('users', ?, 1, ?) "
    "ON CONFLICT (collection, id) DO UPDATE SET version = version + 1, source = excluded.source"
)


def row(i: int) -> tuple[str, dict[str, Any]]:
    """The i-th upsert: ids repeat once, so half the upserts insert and half update."""
    n = i // 2 if i % 2 == 0 else (i - 1) // 2
    source = {
        "content": {"profileIds": ["default"], "name": f"user {n}", "email": f"user{n}@example.com", "i": i},
        "credentials": {"local": {"username": f"user{n}", "hash": "$argon2id$v=19$m=65536" + "x" * 60}},
    }
    return f"user-{n:08d}", source


def _raw_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(SCHEMA)
    return conn


def raw(path: Path, ops: int, per_transaction: int) -> float:
    """ops/s of single-row upserts, ``per_transaction`` per synced commit."""
    conn = _raw_connect(path)
    rows = [row(i) for i in range(ops)]
    gc.freeze()
    start = time.perf_counter()
    for first in range(0, ops, per_transaction):
        conn.execute("BEGIN")
        for id, source in rows[first : first + per_transaction]:
            conn.execute(UPSERT, (id, orjson.dumps(source).decode()))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    gc.unfreeze()
    conn.close()
    return ops / elapsed


async def engine(path: Path, ops: int, callers: int = CALLERS) -> tuple[float, int]:
    """ops/s of ``upsert(durable=True)`` from ``callers`` concurrent callers, and the commits it took."""
    store = SqliteEngine(str(path), group_max=GROUP)
    await store.open([CollectionSpec("users")])
    rows = [row(i) for i in range(ops)]
    gc.freeze()

    async def caller(k: int) -> None:
        for id, source in rows[k::callers]:
            await store.upsert("users", id, source, {}, durable=True)

    start = time.perf_counter()
    await asyncio.gather(*(caller(k) for k in range(callers)))
    elapsed = time.perf_counter() - start
    gc.unfreeze()
    commits = store.commits
    await store.close()
    return ops / elapsed, commits


def _runner(use_uvloop: bool) -> Callable[[Any], Any]:
    if use_uvloop:
        import uvloop

        return uvloop.run
    return asyncio.run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=20_000, help="upserts per grouped run")
    parser.add_argument("--single-ops", type=int, default=1_000, help="upserts of the one-fsync-each run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating raw/engine rounds (medians)")
    parser.add_argument("--uvloop", action="store_true", help="run the engine on uvloop (as uvicorn does)")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the files (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()

    raws: list[float] = []
    engines: list[tuple[float, int]] = []
    pipelined: list[float] = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for k in range(args.rounds):
            base = Path(tmp) / str(k)
            base.mkdir()
            raws.append(raw(base / "raw.db", args.ops, GROUP))
            engines.append(_runner(args.uvloop)(engine(base / "engine.db", args.ops)))
            pipelined.append(_runner(args.uvloop)(engine(base / "piped.db", args.ops, 2 * GROUP))[0])
        raw_single = raw(Path(tmp) / "single.db", args.single_ops, 1)
    raw_grouped = statistics.median(raws)
    engine_ops, commits = sorted(engines)[len(engines) // 2]

    figures = {
        "ops": args.ops,
        "rounds": args.rounds,
        "raw_grouped_rounds": [round(x) for x in raws],
        "engine_durable_rounds": [round(x) for x, _ in engines],
        "loop": "uvloop" if args.uvloop else "asyncio",
        "raw_grouped_ops_per_s": round(raw_grouped),
        "engine_durable_ops_per_s": round(engine_ops),
        "engine_commits": commits,
        "engine_mean_group": round(args.ops / max(commits, 1), 1),
        "ratio": round(engine_ops / raw_grouped, 3),
        "ratio_rounds": [round(e / r, 3) for (e, _), r in zip(engines, raws, strict=True)],
        "raw_one_fsync_each_ops_per_s": round(raw_single),
        "engine_pipelined_callers": 2 * GROUP,
        "engine_pipelined_ops_per_s": round(statistics.median(pipelined)),
        "pipelined_ratio": round(statistics.median(pipelined) / raw_grouped, 3),
    }
    print(f"raw sqlite3, {GROUP} upserts per synced commit : {raw_grouped:>9,.0f} ops/s")
    print(f"SqliteEngine.upsert(durable=True), {CALLERS} callers: {engine_ops:>9,.0f} ops/s")
    print(f"  ({commits} commits, {figures['engine_mean_group']} upserts per commit, {figures['loop']})")
    print(f"ratio engine/raw (of the medians)          : {figures['ratio']:>9.3f}  (goal >= 0.5)")
    print(f"  per round: {figures['ratio_rounds']}")
    piped = figures["engine_pipelined_ops_per_s"]
    print(f"the same, {2 * GROUP} callers (pipelined)          : {piped:>9,} ops/s")
    print(f"ratio pipelined/raw                        : {figures['pipelined_ratio']:>9.3f}")
    print(f"raw sqlite3, one fsync per upsert          : {raw_single:>9,.0f} ops/s")
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
