"""The embedded storage engine: one SQLite file in WAL mode, nothing long on the event loop.

Writes go to a single writer thread that group-commits them (see
``sqlite_writer``); searches, counts and multi-reads go to a small pool of reader
threads (see ``sqlite_readers``). A read by id is one indexed lookup: it runs on
the caller's thread, in a snapshot shared by the loop iteration's reads, and
never waits for a busy file (those go to the readers; see ``sqlite_inline``). Unique paths are
enforced by the ``uniq`` table inside each write's transaction (see
``sqlite_docs``); filters become SQL over the JSON sources (see ``sqlite_sql``).
``indexed_paths`` are accepted and ignored: lookups by unique path already use
``uniq``'s index.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from kserver.storage import sqlite_docs as docs
from kserver.storage.filters import Filter
from kserver.storage.port import (
    CollectionSpec,
    SearchPage,
    SortSpec,
    Source,
    StorageError,
    StorageUnavailable,
    Stored,
)
from kserver.storage.sqlite_inline import InlineReader
from kserver.storage.sqlite_readers import ReaderPool
from kserver.storage.sqlite_sql import REGEXP_FUNCTION, FilterCompiler, order_by
from kserver.storage.sqlite_writer import GroupWriter, Tx

T = TypeVar("T")


class _Regexp:
    """The SQL function ``kregexp(pattern, flags, text)``: ``re.search``, compiled patterns cached."""

    def __init__(self) -> None:
        self._compile = functools.lru_cache(maxsize=256)(re.compile)

    def __call__(self, pattern: str, flags: int, text: str) -> bool:
        return self._compile(pattern, flags).search(text) is not None


BUSY_TIMEOUT_S = 10.0


def _wal_mode(conn: sqlite3.Connection) -> str:
    """``PRAGMA journal_mode = WAL``, retried while another connection switches the same new file:
    that lock is answered "database is locked" at once, without waiting for ``busy_timeout``
    (two ``--workers`` starting on a fresh file hit it)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            mode: str = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            return mode
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _connect(path: str, regexp: _Regexp, *, writer: bool) -> sqlite3.Connection:
    if writer:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: the writer issues BEGIN/COMMIT itself; readers never hold a snapshot open.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=256)
    try:
        # another process may hold the file (another worker, a backup)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if writer:
            mode = _wal_mode(conn)
            if mode != "wal":
                raise StorageUnavailable(f"cannot use WAL mode on {path!r} (got {mode!r})")
            conn.execute("PRAGMA synchronous = NORMAL")
        else:
            conn.execute("PRAGMA query_only = 1")
        conn.create_function(REGEXP_FUNCTION, 3, regexp, deterministic=True)
    except BaseException:
        conn.close()
        raise
    return conn


class SqliteEngine:
    """The ``Engine`` port on a SQLite file at ``path`` (its directory is created if missing).

    ``group_max`` bounds how many writes share one transaction; ``readers`` is
    the number of reader threads. ``open()`` may be called again to declare
    more collections.
    """

    name = "sqlite"

    def __init__(self, path: str, *, group_max: int = 64, readers: int = 2) -> None:
        self.path = path
        self._group_max = group_max
        self._reader_count = readers
        self._regexp = _Regexp()
        self._writer: GroupWriter | None = None
        self._readers: ReaderPool | None = None
        self._inline_reader: InlineReader | None = None  # reads by id on the loop (sqlite_inline)
        self._unique: docs.UniqueMap = {}

    @property
    def commits(self) -> int:
        """Write transactions committed since ``open()``; fewer than writes when group commit works."""
        return 0 if self._writer is None else self._writer.commits

    @property
    def syncs(self) -> int:
        """fsyncs of the WAL since ``open()``: durable groups, or fewer when one fsync covers several."""
        return 0 if self._writer is None else self._writer.syncs

    async def open(self, collections: Sequence[CollectionSpec]) -> None:
        specs = list(collections)
        if self._writer is None:
            conn = await asyncio.to_thread(_connect, self.path, self._regexp, writer=True)
            writer = GroupWriter(conn, self.path + "-wal", group_max=self._group_max)
            writer.start()
            try:
                self._unique = await writer.submit(lambda c: docs.apply_specs(c, specs), durable=True)
                conns = await asyncio.to_thread(self._connect_readers)
            except BaseException:
                await writer.stop()
                raise
            self._writer, self._readers = writer, ReaderPool(conns[1:])
            self._inline_reader = InlineReader(conns[0])
        else:
            self._unique = await self._writer.submit(lambda c: docs.apply_specs(c, specs), durable=True)

    def _connect_readers(self) -> list[sqlite3.Connection]:
        """The inline reader's connection first, then one per reader thread."""
        return [_connect(self.path, self._regexp, writer=False) for _ in range(self._reader_count + 1)]

    async def close(self) -> None:
        writer, readers, inline = self._writer, self._readers, self._inline_reader
        self._writer = self._readers = self._inline_reader = None
        if inline is not None:
            inline.close()
        if writer is not None:
            await writer.stop()
        if readers is not None:
            await readers.close()

    async def ping(self) -> bool:
        try:
            return await self._read(lambda c: c.execute("SELECT 1").fetchone() == (1,))
        except StorageError:
            return False

    def _paths(self, collection: str) -> tuple[str, ...]:
        return self._unique.get(collection, ())

    def _compiler(self, collection: str) -> FilterCompiler:
        return FilterCompiler(collection, self._paths(collection))

    async def _read(self, read: Callable[[sqlite3.Connection], T]) -> T:
        if self._readers is None:
            raise StorageUnavailable("the sqlite engine is not open")
        return await self._readers.run(read)

    def _write(self, run: Callable[[Tx], T], durable: bool) -> asyncio.Future[T]:
        # A plain function returning the future: one coroutine frame less on the hot path.
        if self._writer is None:
            raise StorageUnavailable("the sqlite engine is not open")
        return self._writer.submit(run, durable=durable)

    async def get(self, collection: str, id: str) -> Stored | None:
        """On the caller's thread (``sqlite_inline``); a busy file (a checkpoint, another
        process) or any failure sends the read to the reader threads, which wait or report."""
        inline = self._inline_reader
        if inline is not None:
            try:
                return inline.get(collection, id)
            except sqlite3.Error:
                pass
        return await self._read(lambda c: docs.get(c, collection, id))

    async def mget(self, collection: str, ids: Sequence[str]) -> list[Stored]:
        return await self._read(lambda c: docs.mget(c, collection, ids))

    async def create(self, collection: str, id: str, source: Source, *, durable: bool) -> Stored:
        return await self._write(
            lambda c: docs.create(c, self._paths(collection), collection, id, source), durable
        )

    async def replace(
        self, collection: str, id: str, source: Source, *, if_version: int | None = None, durable: bool
    ) -> Stored | None:
        return await self._write(
            lambda c: docs.replace(c, self._paths(collection), collection, id, source, if_version), durable
        )

    def update(  # the writer's future itself: no coroutine on the hot path (as upsert)
        self,
        collection: str,
        id: str,
        set_paths: Mapping[str, Any],
        *,
        unset_paths: Sequence[str] = (),
        if_version: int | None = None,
        durable: bool,
    ) -> asyncio.Future[Stored | None]:
        return self._write(
            lambda c: docs.update(
                c, self._paths(collection), collection, id, set_paths, unset_paths, if_version
            ),
            durable,
        )

    def upsert(  # the writer's future itself: one coroutine less per upsert
        self,
        collection: str,
        id: str,
        set_paths: Mapping[str, Any],
        set_on_insert: Mapping[str, Any],
        *,
        if_version: int | None = None,
        durable: bool,
    ) -> asyncio.Future[tuple[Stored, bool]]:
        return self._write(
            lambda c: docs.upsert(
                c, self._paths(collection), collection, id, set_paths, set_on_insert, if_version
            ),
            durable,
        )

    async def delete(self, collection: str, id: str, *, if_version: int | None = None, durable: bool) -> bool:
        return await self._write(lambda c: docs.delete(c, collection, id, if_version), durable)

    async def search(
        self,
        collection: str,
        filter: Filter,
        *,
        sort: SortSpec = (),
        offset: int = 0,
        limit: int = 10,
    ) -> SearchPage:
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        where, order = self._compiler(collection).where(filter), order_by(sort)
        return await self._read(lambda c: docs.search(c, where, order, offset, limit))

    async def count(self, collection: str, filter: Filter) -> int:
        where = self._compiler(collection).where(filter)
        return await self._read(lambda c: docs.count(c, where))

    async def delete_matching(self, collection: str, filter: Filter, *, durable: bool) -> int:
        where = self._compiler(collection).where(filter)
        return await self._write(lambda c: docs.delete_matching(c, collection, where), durable)
