"""Synchronous document operations on one SQLite connection, run in the engine's threads.

Layout: ``docs(collection, id, version, source JSON text)`` and
``uniq(collection, path, value JSON text) → id``, one row per value a unique
path holds (one per array element). Write functions run inside the writer's
transaction; one that may write more than one statement calls
``tx.savepoint()`` first, so that when it raises the writer undoes all it did.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from kserver.storage.port import CollectionSpec, DuplicateKey, SearchPage, Source, StorageConflict, Stored
from kserver.storage.sqlite_sql import Sql, json_path
from kserver.storage.sqlite_values import dumps, loads, node_at, set_paths, unique_values, unset_paths
from kserver.storage.sqlite_writer import Tx

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    collection TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, source TEXT NOT NULL,
    PRIMARY KEY (collection, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uniq (
    collection TEXT NOT NULL, path TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (collection, path, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uniq_by_doc ON uniq (collection, id);
CREATE TABLE IF NOT EXISTS unique_paths (
    collection TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (collection, path)
) WITHOUT ROWID;
"""

UniqueMap = dict[str, tuple[str, ...]]


_SELECT = "SELECT version, source FROM docs WHERE collection = ? AND id = ?"


def _row(conn: sqlite3.Connection, collection: str, id: str) -> tuple[int, str] | None:
    row: tuple[int, str] | None = conn.execute(_SELECT, (collection, id)).fetchone()
    return row


_TOUCHED: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}
_TOUCHED_MAX = 4096


def _touched(paths: tuple[str, ...], changed: tuple[str, ...]) -> tuple[str, ...]:
    """The unique ``paths`` a write of the dotted paths ``changed`` may reach: the others keep their
    very objects, and their old values need not be read. Memoised: the services write the same few
    shapes of change (an upsert's ``content.*`` and ``_kuzzle_info`` fields) again and again."""
    key = (paths, changed)
    found = _TOUCHED.get(key)
    if found is None:
        found = tuple(
            path
            for path in paths
            if any(c == path or c.startswith(path + ".") or path.startswith(c + ".") for c in changed)
        )
        if len(_TOUCHED) >= _TOUCHED_MAX:
            _TOUCHED.clear()
        _TOUCHED[key] = found
    return found


def _check_version(row: tuple[int, str], id: str, if_version: int | None) -> None:
    if if_version is not None and row[0] != if_version:
        raise StorageConflict(f"document {id!r} is at version {row[0]}, not {if_version}")


def _claim(
    conn: sqlite3.Connection,
    collection: str,
    id: str,
    changes: list[tuple[str, Any, Any]],
) -> None:
    """Move ``id``'s rows in ``uniq`` from the old to the new value of each ``(path, old, new)``."""
    for path, old, new in changes:
        before = unique_values(old)
        after = unique_values(new)
        for value in before - after:
            conn.execute(
                "DELETE FROM uniq WHERE collection = ? AND path = ? AND value = ? AND id = ?",
                (collection, path, value, id),
            )
        for value in after - before:
            cur = conn.execute(
                "INSERT INTO uniq (collection, path, value, id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (collection, path, value, id),
            )
            if cur.rowcount == 0:
                holder = conn.execute(
                    "SELECT id FROM uniq WHERE collection = ? AND path = ? AND value = ?",
                    (collection, path, value),
                ).fetchone()[0]
                if holder != id:
                    raise DuplicateKey(path, orjson.loads(value), holder)


def _changed(paths: tuple[str, ...], before: list[Any] | None, source: Source) -> list[tuple[str, Any, Any]]:
    """``(path, old, new)`` for the unique paths whose value may have changed. ``before`` holds the
    old values (None for a new document); a value that is the very same object was not touched by
    ``set_paths``/``unset_paths`` (they copy what they change), so it needs no comparison."""
    if before is None:
        return [(path, None, node) for path in paths if (node := node_at(source, path)) is not None]
    return [
        (path, old, new)
        for path, old in zip(paths, before, strict=True)
        if (new := node_at(source, path)) is not old
    ]


def create(tx: Tx, paths: tuple[str, ...], collection: str, id: str, source: Source) -> Stored:
    conn = tx.conn
    claims = _changed(paths, None, source) if paths else []
    if claims:  # a clash must undo the document's insert too; alone, it is one statement
        tx.savepoint()
    cur = conn.execute(
        "INSERT INTO docs (collection, id, version, source) VALUES (?, ?, 1, ?) ON CONFLICT DO NOTHING",
        (collection, id, dumps(source)),
    )
    if cur.rowcount == 0:
        raise DuplicateKey("_id", id, id)
    if claims:
        _claim(conn, collection, id, claims)
    return Stored(id, source, 1)


def _write(
    tx: Tx,
    paths: tuple[str, ...],
    collection: str,
    id: str,
    row: tuple[int, str],
    source: Source,
    before: list[Any],
) -> Stored:
    """Store ``source`` over ``row``; ``before``: the old values at ``paths``."""
    conn = tx.conn
    changes = _changed(paths, before, source) if paths else []
    if changes:  # a clash must undo the document's write too
        tx.savepoint()
    version = row[0] + 1
    conn.execute(
        "UPDATE docs SET version = ?, source = ? WHERE collection = ? AND id = ?",
        (version, dumps(source), collection, id),
    )
    if changes:
        _claim(conn, collection, id, changes)
    return Stored(id, source, version)


def replace(
    tx: Tx,
    paths: tuple[str, ...],
    collection: str,
    id: str,
    source: Source,
    if_version: int | None,
) -> Stored | None:
    row = _row(tx.conn, collection, id)
    if row is None:
        return None
    _check_version(row, id, if_version)
    old = loads(row[1]) if paths else {}
    return _write(tx, paths, collection, id, row, source, [node_at(old, path) for path in paths])


def update(
    tx: Tx,
    paths: tuple[str, ...],
    collection: str,
    id: str,
    changes: Mapping[str, Any],
    removals: Sequence[str],
    if_version: int | None,
) -> Stored | None:
    row = _row(tx.conn, collection, id)
    if row is None:
        return None
    _check_version(row, id, if_version)
    source = loads(row[1])
    if paths:
        paths = _touched(paths, (*changes, *removals))
    before = [node_at(source, path) for path in paths] if paths else []
    set_paths(source, changes)
    unset_paths(source, removals)
    return _write(tx, paths, collection, id, row, source, before)


def upsert(
    tx: Tx,
    paths: tuple[str, ...],
    collection: str,
    id: str,
    changes: Mapping[str, Any],
    on_insert: Mapping[str, Any],
    if_version: int | None,
) -> tuple[Stored, bool]:
    row = _row(tx.conn, collection, id)
    if row is None:
        source: Source = {}
        if on_insert:
            set_paths(source, on_insert)
        set_paths(source, changes)
        return create(tx, paths, collection, id, source), True
    _check_version(row, id, if_version)
    source = loads(row[1])
    if paths:
        paths = _touched(paths, tuple(changes))
    before = [node_at(source, path) for path in paths] if paths else []
    set_paths(source, changes)
    return _write(tx, paths, collection, id, row, source, before), False


def delete(tx: Tx, collection: str, id: str, if_version: int | None) -> bool:
    conn = tx.conn
    if if_version is not None:
        row = _row(conn, collection, id)
        if row is None:
            return False
        _check_version(row, id, if_version)
    tx.savepoint()
    cur = conn.execute("DELETE FROM docs WHERE collection = ? AND id = ?", (collection, id))
    if cur.rowcount == 0:
        return False
    conn.execute("DELETE FROM uniq WHERE collection = ? AND id = ?", (collection, id))
    return True


def delete_matching(tx: Tx, collection: str, where: Sql) -> int:
    conn = tx.conn
    tx.savepoint()
    matching = f"SELECT d.id FROM docs AS d WHERE {where.text}"
    conn.execute(f"DELETE FROM uniq WHERE collection = ? AND id IN ({matching})", [collection, *where.params])
    cur = conn.execute(
        f"DELETE FROM docs WHERE collection = ? AND id IN ({matching})", [collection, *where.params]
    )
    return cur.rowcount


def apply_specs(tx: Tx, specs: Sequence[CollectionSpec]) -> UniqueMap:
    """Create the schema and make ``uniq`` hold exactly the declared unique paths of these collections.

    A newly declared path is backfilled from existing documents; when they
    already violate it, raises DuplicateKey (with a note) and the caller must
    roll back. Returns the unique paths of every collection in the database.
    """
    conn = tx.conn
    tx.savepoint()
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)  # not executescript(): it would commit the writer's transaction
    for spec in specs:
        for path in spec.unique_paths:
            json_path(path)  # validates
        known = {
            p for (p,) in conn.execute("SELECT path FROM unique_paths WHERE collection = ?", (spec.name,))
        }
        for path in known - set(spec.unique_paths):
            conn.execute("DELETE FROM uniq WHERE collection = ? AND path = ?", (spec.name, path))
            conn.execute("DELETE FROM unique_paths WHERE collection = ? AND path = ?", (spec.name, path))
        for path in spec.unique_paths:
            if path not in known:
                _backfill(conn, spec.name, path)
                conn.execute("INSERT INTO unique_paths (collection, path) VALUES (?, ?)", (spec.name, path))
    result: UniqueMap = {}
    for collection, path in conn.execute(
        "SELECT collection, path FROM unique_paths ORDER BY collection, path"
    ):
        result[collection] = (*result.get(collection, ()), path)
    return result


def _backfill(conn: sqlite3.Connection, collection: str, path: str) -> None:
    rows = conn.execute(
        "SELECT id, source FROM docs WHERE collection = ? AND json_type(source, ?) IS NOT NULL",
        (collection, json_path(path)),
    )
    for id, text in rows:
        try:
            _claim(conn, collection, id, _changed((path,), None, loads(text)))
        except DuplicateKey as exc:
            exc.add_note(
                f"existing documents {exc.holder!r} and {id!r} of {collection!r} share this value, "
                f"so {path!r} cannot become unique"
            )
            raise


def _stored(id: str, version: int, text: str) -> Stored:
    return Stored(id, loads(text), version)


def get(conn: sqlite3.Connection, collection: str, id: str) -> Stored | None:
    row = conn.execute(_SELECT, (collection, id)).fetchone()  # _row and _stored, without their calls
    return None if row is None else Stored(id, loads(row[1]), row[0])


def mget(conn: sqlite3.Connection, collection: str, ids: Sequence[str]) -> list[Stored]:
    rows = conn.execute(
        "SELECT id, version, source FROM docs "
        "WHERE collection = ? AND id IN (SELECT value FROM json_each(?))",
        (collection, orjson.dumps(list(ids)).decode()),
    )
    found = {id: (version, text) for id, version, text in rows}
    return [_stored(id, *found[id]) for id in ids if id in found]


def count(conn: sqlite3.Connection, where: Sql) -> int:
    total: int = conn.execute(f"SELECT count(*) FROM docs AS d WHERE {where.text}", where.params).fetchone()[
        0
    ]
    return total


def search(conn: sqlite3.Connection, where: Sql, order: Sql, offset: int, limit: int) -> SearchPage:
    """The page and the total, read from one snapshot."""
    conn.execute("BEGIN")
    try:
        total = count(conn, where)
        rows = conn.execute(
            f"SELECT d.id, d.version, d.source FROM docs AS d "
            f"WHERE {where.text} {order.text} LIMIT ? OFFSET ?",
            [*where.params, *order.params, limit, offset],
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    return SearchPage([_stored(id, version, text) for id, version, text in rows], total)
