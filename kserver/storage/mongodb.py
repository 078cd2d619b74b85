"""The MongoDB engine (PyMongo's ``AsyncMongoClient``); also runs on FerretDB, see tests/README.md.

Document shape, one MongoDB document per stored document::

    {"_id": <id>, "_v": <version>, "s": <source>}

A unique path ``p`` is a unique index on ``s.p`` named ``unique:p``, partial
on ``{"s.p": {"$exists": true}}`` so documents without the field never
collide; MongoDB indexes every array element (a multikey index), which gives
"any element" uniqueness across documents. An explicit ``null`` is a value
there (two documents with ``name: null`` collide), unlike a missing field.

Every write is one single-document command (``insert_one``,
``find_one_and_update``, ``delete_one``): the version check (``if_version`` in
the filter), the ``$inc`` of ``_v`` and the unique indexes are applied
atomically by the server. No multi-document transaction is needed because a
user, its credentials and its identity keys live in one document, so one
document's atomicity covers every invariant kserver has. Reads after a failed
write only classify the error (which path, which holder); they never decide a
write.

Durability: ``durable=True`` writes with ``w="majority", j=True`` (survives a
primary failover and a crash), ``durable=False`` with ``w=1``. Reads use read
preference *primary* and read concern *local*: on a replica set this sees
every acknowledged write, including ``w=1`` ones ("majority" reads would not,
and secondaries may lag), so any kserver node sharing the deployment reads its
own and others' writes.

Availability: server selection times out after ``serverSelectionTimeoutMS``
(2 s unless the URL sets it), then the call raises StorageUnavailable; the
driver keeps monitoring the server, so the same engine works again once it is
back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, NoReturn, TypeVar
from urllib.parse import parse_qsl, urlsplit

from bson.errors import InvalidDocument
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, DuplicateKeyError, OperationFailure, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.read_preferences import ReadPreference
from pymongo.write_concern import WriteConcern

from kserver.storage.filters import (
    And,
    Eq,
    Exists,
    Filter,
    Ids,
    In,
    MatchAll,
    Not,
    Or,
    Prefix,
    Range,
    Regexp,
)
from kserver.storage.port import (
    CollectionSpec,
    DuplicateKey,
    SearchPage,
    SortSpec,
    Source,
    StorageConflict,
    StorageUnavailable,
    Stored,
    UnstorableValue,
)

Doc = dict[str, Any]
T = TypeVar("T")

DEFAULT_DATABASE = "kserver"
DEFAULT_OPTIONS = {"serverSelectionTimeoutMS": 2000, "connectTimeoutMS": 2000}
UPSERT_ATTEMPTS = 8  # each lost race means another node inserted the id: the next attempt updates it
NOT_IMPLEMENTED = 238
INTERNAL_ERROR = 1
WRITE_CONFLICT = 112
_INDEX_NAME = re.compile(r"unique:([^'\s]+)")
_MATCH_NOTHING: Doc = {"_id": {"$in": []}}
_DURABLE = WriteConcern(w="majority", j=True)
_FAST = WriteConcern(w=1)


def _field(path: str) -> str:
    return path if path == "_id" else f"s.{path}"


def _dig(source: Any, path: str) -> tuple[bool, Any]:
    """(True, value) when the dotted ``path`` is present in ``source``."""
    for part in path.split("."):
        if not isinstance(source, dict) or part not in source:
            return False, None
        source = source[part]
    return True, source


def _elements(value: Any) -> list[Any]:
    return [v for v in (value if isinstance(value, list) else [value]) if v is not None]


def _stored(doc: Mapping[str, Any]) -> Stored:
    # "s" is always written; FerretDB can drop it when an upsert inserts only [] or null values.
    return Stored(doc["_id"], doc.get("s", {}), doc["_v"])


def _client_options(url: str) -> dict[str, Any]:
    """Our defaults for the options the URL leaves out (URL options are case-insensitive)."""
    given = {key.lower() for key, _ in parse_qsl(urlsplit(url).query)}
    return {key: value for key, value in DEFAULT_OPTIONS.items() if key.lower() not in given}


def query(filter: Filter) -> Doc:
    """The MongoDB query document for a filter AST (``Eq(p, None)`` matches null or missing)."""
    match filter:
        case MatchAll():
            return {}
        case Eq(path, value):
            return {_field(path): value}
        case In(path, values):
            return {_field(path): {"$in": list(values)}} if values else _MATCH_NOTHING
        case Exists(path):
            return {_field(path): {"$exists": True, "$ne": None}}
        case Range(path, gt, gte, lt, lte):
            bounds = {
                op: bound
                for op, bound in (("$gt", gt), ("$gte", gte), ("$lt", lt), ("$lte", lte))
                if bound is not None
            }
            if len(bounds) < 2:
                return {_field(path): bounds}
            # MongoDB lets different array elements satisfy different bounds; one element must meet all.
            return {
                "$or": [
                    {_field(path): {"$elemMatch": bounds}},
                    {"$and": [{_field(path): bounds}, {_field(path): {"$not": {"$type": "array"}}}]},
                ]
            }
        case Ids(values):
            return {"_id": {"$in": list(values)}} if values else _MATCH_NOTHING
        case Prefix(path, value):
            return {_field(path): {"$regex": "^" + re.escape(value)}}
        case Regexp(path, pattern, case_insensitive):
            return {_field(path): {"$regex": pattern, "$options": "i" if case_insensitive else ""}}
        case And(clauses):
            return {"$and": [query(c) for c in clauses]} if clauses else {}
        case Or(clauses):
            return {"$or": [query(c) for c in clauses]} if clauses else _MATCH_NOTHING
        case Not(clause):
            return {"$nor": [query(clause)]}
    raise TypeError(f"not a filter: {filter!r}")


def _on_insert_only(set_paths: Mapping[str, Any], set_on_insert: Mapping[str, Any]) -> Doc:
    """``set_on_insert`` minus what ``set_paths`` overrides, split so no two paths overlap.

    MongoDB refuses an update whose ``$set`` and ``$setOnInsert`` touch the same
    path or a path and its prefix; set_paths win on insert, so an overridden
    path is dropped and an object holding one is split into its other members.
    """
    kept: Doc = {}
    for path, value in set_on_insert.items():
        if any(path == p or path.startswith(p + ".") for p in set_paths):
            continue
        inner = [p[len(path) + 1 :] for p in set_paths if p.startswith(path + ".")]
        if not inner:
            kept[path] = value
        elif isinstance(value, dict):
            split = _on_insert_only(dict.fromkeys(inner), value)
            kept.update({f"{path}.{key}": member for key, member in split.items()})
    return kept


def _written(set_paths: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """The value an update of ``set_paths`` gives the dotted ``path``, if it sets one."""
    if path in set_paths:
        return True, set_paths[path]
    for key, value in set_paths.items():
        if path.startswith(key + "."):
            return _dig(value, path[len(key) + 1 :])
    return False, None


class MongoEngine:
    """The storage port on MongoDB >= 4.4 (see the module docstring); safe for concurrent use."""

    name = "mongodb"

    def __init__(self, url: str, *, database: str | None = None) -> None:
        self._url = url
        self._database_name = database
        self._client: AsyncMongoClient[Doc] | None = None
        self._db: AsyncDatabase[Doc] | None = None
        self._unique: dict[str, tuple[str, ...]] = {}

    async def open(self, collections: Sequence[CollectionSpec]) -> None:
        if self._client is None:
            self._client = AsyncMongoClient(self._url, **_client_options(self._url))
            self._db = self._client.get_database(
                self._database_name or self._client.get_default_database(DEFAULT_DATABASE).name,
                read_concern=ReadConcern("local"),
                read_preference=ReadPreference.PRIMARY,
            )
        for spec in collections:
            await self._guard(self._create_indexes(spec))
            self._unique[spec.name] = spec.unique_paths

    async def _create_indexes(self, spec: CollectionSpec) -> None:
        coll = self._coll(spec.name, durable=True)
        for path in spec.unique_paths:
            field = _field(path)
            try:
                await coll.create_index(
                    field,
                    name=f"unique:{path}",
                    unique=True,
                    partialFilterExpression={field: {"$exists": True}},
                )
            except OperationFailure as exc:
                if exc.code != NOT_IMPLEMENTED:
                    raise
                # FerretDB 1.x has no partial indexes; a sparse unique index is the same on one field.
                await coll.create_index(field, name=f"unique:{path}", unique=True, sparse=True)
        for path in spec.indexed_paths:
            await coll.create_index(_field(path), name=f"index:{path}")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = self._db = None

    async def ping(self) -> bool:
        if self._client is None:
            return False
        try:
            await self._client.admin.command("ping")
        except PyMongoError:
            return False
        return True

    def _coll(self, collection: str, *, durable: bool = False) -> AsyncCollection[Doc]:
        if self._db is None:
            raise StorageUnavailable("the MongoDB engine is not open")
        return self._db.get_collection(collection, write_concern=_DURABLE if durable else _FAST)

    async def _guard(self, call: Coroutine[Any, Any, T]) -> T:
        """Await ``call``, turning driver failures into StorageUnavailable."""
        try:
            return await call
        except ConnectionFailure as exc:
            raise StorageUnavailable(f"MongoDB unreachable: {exc}") from exc
        except (InvalidDocument, OverflowError) as exc:  # BSON encoding: raised before anything is sent
            raise UnstorableValue(f"MongoDB cannot encode these values: {exc}") from exc
        except PyMongoError as exc:
            raise StorageUnavailable(f"MongoDB failed: {exc}") from exc

    async def _write(
        self,
        collection: str,
        id: str,
        call: Callable[[], Coroutine[Any, Any, T]],
        values: Callable[[str], tuple[bool, Any]],
    ) -> T:
        """Run one write; a unique index violation raises DuplicateKey (``values(path)``: what we wrote)."""
        try:
            return await self._guard(call())
        except StorageUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, DuplicateKeyError) or _is_ferretdb_unique_violation(cause):
                assert isinstance(cause, OperationFailure)
                raise await self._duplicate(collection, id, cause, values) from cause
            if _is_write_conflict(cause):
                raise StorageConflict(f"write conflict on {id!r}: {cause}") from cause
            raise

    async def _duplicate(
        self, collection: str, id: str, exc: OperationFailure, values: Callable[[str], tuple[bool, Any]]
    ) -> DuplicateKey:
        """Which path, value and holder a duplicate-key error is about (reads only to report it)."""
        details = exc.details or {}
        pattern, key_value = details.get("keyPattern"), details.get("keyValue")
        if isinstance(pattern, dict) and isinstance(key_value, dict) and pattern:
            field = next(iter(pattern))
            path = field if field == "_id" else field.removeprefix("s.")
            return await self._holder(collection, id, path, [key_value.get(field)])
        named = _INDEX_NAME.search(str(details.get("errmsg", exc)))
        if named:  # FerretDB gives the index name only, in the message
            found, value = values(named.group(1))
            return await self._holder(collection, id, named.group(1), _elements(value) if found else [])
        # FerretDB's E11000 on insert names nothing: find the value another document holds.
        if await self._guard(self._coll(collection).find_one({"_id": id}, {"_id": 1})) is not None:
            return DuplicateKey("_id", id, id)
        for path in self._unique.get(collection, ()):
            found, value = values(path)
            if found and _elements(value):
                dup = await self._holder(collection, id, path, _elements(value))
                if dup.holder is not None:
                    return dup
        return DuplicateKey("_id", id, None)  # the holder vanished meanwhile

    async def _holder(self, collection: str, id: str, path: str, candidates: list[Any]) -> DuplicateKey:
        if path == "_id":
            return DuplicateKey("_id", id, id)
        if not candidates:
            return DuplicateKey(path)
        field = _field(path)
        other = await self._guard(
            self._coll(collection).find_one(
                {field: {"$in": candidates}, "_id": {"$ne": id}}, {"_id": 1, field: 1}
            )
        )
        if other is None:
            return DuplicateKey(path, candidates[0])
        _, held = _dig(other.get("s"), path)
        held_values = held if isinstance(held, list) else [held]
        value = next((c for c in candidates if c in held_values), candidates[0])
        return DuplicateKey(path, value, other["_id"])

    async def _conflict_or_none(self, collection: str, id: str, if_version: int | None) -> None:
        """After a write matched nothing: None when the document is absent, else StorageConflict."""
        if if_version is None:
            return
        current = await self._guard(self._coll(collection).find_one({"_id": id}, {"_v": 1}))
        if current is not None:
            _raise_conflict(id, if_version, current["_v"])

    async def get(self, collection: str, id: str) -> Stored | None:
        doc = await self._guard(self._coll(collection).find_one({"_id": id}))
        return None if doc is None else _stored(doc)

    async def mget(self, collection: str, ids: Sequence[str]) -> list[Stored]:
        if not ids:
            return []
        found = {
            doc["_id"]: _stored(doc)
            for doc in await self._guard(self._coll(collection).find({"_id": {"$in": list(ids)}}).to_list())
        }
        return [found[id] for id in ids if id in found]

    async def create(self, collection: str, id: str, source: Source, *, durable: bool) -> Stored:
        coll = self._coll(collection, durable=durable)
        await self._write(
            collection,
            id,
            lambda: coll.insert_one({"_id": id, "_v": 1, "s": source}),
            lambda p: _dig(source, p),
        )
        return Stored(id, source, 1)

    async def replace(
        self, collection: str, id: str, source: Source, *, if_version: int | None = None, durable: bool
    ) -> Stored | None:
        # $set of the whole source (not a replacement document) so that $inc keeps the version server-side.
        return await self._update(
            collection, id, {"$set": {"s": source}}, if_version, durable, lambda p: _dig(source, p)
        )

    async def update(
        self,
        collection: str,
        id: str,
        set_paths: Mapping[str, Any],
        *,
        unset_paths: Sequence[str] = (),
        if_version: int | None = None,
        durable: bool,
    ) -> Stored | None:
        change: Doc = {}
        if set_paths:
            change["$set"] = {_field(p): v for p, v in set_paths.items()}
        if unset_paths:
            change["$unset"] = {_field(p): "" for p in unset_paths}
        return await self._update(
            collection, id, change, if_version, durable, lambda p: _written(set_paths, p)
        )

    async def _update(
        self,
        collection: str,
        id: str,
        change: Doc,
        if_version: int | None,
        durable: bool,
        values: Callable[[str], tuple[bool, Any]],
    ) -> Stored | None:
        coll = self._coll(collection, durable=durable)
        selector: Doc = {"_id": id} if if_version is None else {"_id": id, "_v": if_version}
        doc = await self._write(
            collection,
            id,
            lambda: coll.find_one_and_update(
                selector, {**change, "$inc": {"_v": 1}}, return_document=ReturnDocument.AFTER
            ),
            values,
        )
        if doc is None:
            await self._conflict_or_none(collection, id, if_version)
            return None
        return _stored(doc)

    async def upsert(
        self,
        collection: str,
        id: str,
        set_paths: Mapping[str, Any],
        set_on_insert: Mapping[str, Any],
        *,
        if_version: int | None = None,
        durable: bool,
    ) -> tuple[Stored, bool]:
        coll = self._coll(collection, durable=durable)
        selector: Doc = {"_id": id}
        if if_version is not None:
            # Not an equality on _v: an upsert copies equality fields into the document it inserts.
            selector["$and"] = [{"_v": {"$gte": if_version}}, {"_v": {"$lte": if_version}}]
        change: Doc = {"$inc": {"_v": 1}, "$setOnInsert": {"s": {}}}
        if set_paths:
            change["$set"] = {_field(p): v for p, v in set_paths.items()}
        if on_insert := _on_insert_only(set_paths, set_on_insert):
            change["$setOnInsert"] = {_field(p): v for p, v in on_insert.items()}
        elif set_paths:
            del change["$setOnInsert"]  # $set creates "s"; an empty "s" would overlap with it

        def values(path: str) -> tuple[bool, Any]:
            found, value = _written(set_paths, path)
            return (found, value) if found else _written(set_on_insert, path)

        for _ in range(UPSERT_ATTEMPTS):
            try:
                doc = await self._write(
                    collection,
                    id,
                    lambda: coll.find_one_and_update(
                        selector, change, upsert=True, return_document=ReturnDocument.AFTER
                    ),
                    values,
                )
            except DuplicateKey as dup:
                if dup.path != "_id":
                    raise
                if if_version is not None:
                    # The id exists (the version filter missed it, or a racing upsert inserted it).
                    updated = await self._update(
                        collection, id, _update_part(change), if_version, durable, values
                    )
                    if updated is None:
                        _raise_conflict(id, if_version, None)
                    return updated, False
                continue  # MongoDB's upsert race on _id: the next attempt matches the inserted document
            assert doc is not None  # upsert=True always yields a document
            return _stored(doc), doc["_v"] == 1  # an existing document is at version 2 or more after $inc
        raise StorageUnavailable(f"upsert of {id!r} lost {UPSERT_ATTEMPTS} insert races in a row")

    async def delete(self, collection: str, id: str, *, if_version: int | None = None, durable: bool) -> bool:
        selector: Doc = {"_id": id} if if_version is None else {"_id": id, "_v": if_version}
        result = await self._guard(self._coll(collection, durable=durable).delete_one(selector))
        if result.deleted_count == 0:
            await self._conflict_or_none(collection, id, if_version)
            return False
        return True

    async def search(
        self,
        collection: str,
        filter: Filter,
        *,
        sort: SortSpec = (),
        offset: int = 0,
        limit: int = 10,
    ) -> SearchPage:
        coll = self._coll(collection)
        where = query(filter)
        order = [(_field(path), direction) for path, direction in sort]
        if not any(field == "_id" for field, _ in order):
            order.append(("_id", 1))
        hits: list[Stored] = []
        if limit > 0:  # a MongoDB limit of 0 means "no limit"
            cursor = coll.find(where, sort=order, skip=offset, limit=limit)
            hits = [_stored(doc) for doc in await self._guard(cursor.to_list())]
        total = await self._guard(coll.count_documents(where))
        return SearchPage(hits, total)

    async def count(self, collection: str, filter: Filter) -> int:
        return await self._guard(self._coll(collection).count_documents(query(filter)))

    async def delete_matching(self, collection: str, filter: Filter, *, durable: bool) -> int:
        result = await self._guard(self._coll(collection, durable=durable).delete_many(query(filter)))
        return result.deleted_count


def _update_part(change: Doc) -> Doc:
    """An upsert's change without what only an insert or ``_update`` itself adds."""
    return {op: fields for op, fields in change.items() if op not in ("$setOnInsert", "$inc")}


def _raise_conflict(id: str, expected: int, actual: int | None) -> NoReturn:
    raise StorageConflict(f"document {id!r} is not at version {expected} (now {actual})")


def _is_write_conflict(exc: BaseException | None) -> bool:
    """Another writer held what this write needed: MongoDB's WriteConflict, or an error labelled
    transient. Not an outage: retrying the write is the cure, so it is a StorageConflict.

    FerretDB's SQLite backend answering "database is locked (SQLITE_BUSY)" is not one: it comes
    after FerretDB's own 10 s busy timeout, i.e. an overloaded server, and retrying it made a
    10,000-user replay run past 600 s instead of failing in 10 s; it stays StorageUnavailable.
    """
    if not isinstance(exc, OperationFailure):
        return False
    return exc.code == WRITE_CONFLICT or exc.has_error_label("TransientTransactionError")


def _is_ferretdb_unique_violation(exc: BaseException | None) -> bool:
    """FerretDB 1.x reports a unique violation by an update as an InternalError naming the index."""
    return (
        isinstance(exc, OperationFailure)
        and exc.code == INTERNAL_ERROR
        and "UNIQUE constraint failed" in str(exc.details or exc)
    )
