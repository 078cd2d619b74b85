"""MongoDB-only behaviour: indexes, duplicate-key translation, query shapes and outages (on FerretDB).

The engine-agnostic behaviour is in test_contract.py; these tests use the
session server of engines_mongodb, or a FerretDB of their own when they stop it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError, OperationFailure

from kserver.storage.filters import MATCH_ALL, And, Eq, In, Not, Or, Range
from kserver.storage.mongodb import MongoEngine, _client_options, _is_write_conflict, _on_insert_only, query
from kserver.storage.port import CollectionSpec, DuplicateKey, StorageUnavailable, Stored, UnstorableValue
from tests.ferretdb import FerretDB, free_port
from tests.storage.engines_mongodb import MongoServer

ACCOUNTS = CollectionSpec("accounts", unique_paths=("profile.login", "keys"), indexed_paths=("team",))
Client = AsyncMongoClient[dict[str, object]]


@pytest.fixture
async def database(mongodb_server: MongoServer) -> AsyncIterator[tuple[str, Client]]:
    """A fresh database name on the session server and a raw client to inspect it; dropped afterwards."""
    name = f"kstest_{uuid.uuid4().hex[:16]}"
    async with Client(mongodb_server.url) as client:
        yield name, client
        await client.drop_database(name)


@pytest.fixture
async def engine(database: tuple[str, Client], mongodb_server: MongoServer) -> AsyncIterator[MongoEngine]:
    opened = MongoEngine(mongodb_server.url, database=database[0])
    await opened.open([ACCOUNTS])
    yield opened
    await opened.close()


async def test_open_creates_unique_indexes_without_partial_collisions(
    engine: MongoEngine, database: tuple[str, Client]
) -> None:
    await engine.open([ACCOUNTS])  # idempotent, as every node opens at start-up
    name, client = database
    indexes = {ix["name"]: ix async for ix in await client[name]["accounts"].list_indexes()}
    assert set(indexes) == {"_id_", "unique:profile.login", "unique:keys", "index:team"}
    for path in ("profile.login", "keys"):
        index = indexes[f"unique:{path}"]
        assert (dict(index["key"]), index["unique"]) == ({f"s.{path}": 1}, True)
    assert "unique" not in indexes["index:team"]
    # Partial (MongoDB) or sparse (FerretDB): documents without the field are not indexed.
    for i in range(3):
        await engine.create("accounts", f"anon{i}", {"profile": {}}, durable=False)
    assert await engine.count("accounts", MATCH_ALL) == 3


async def test_what_bson_cannot_encode_is_unstorable_and_writes_nothing(engine: MongoEngine) -> None:
    """A NUL byte in a field name, an integer beyond 64 bits: JSON carries both, BSON neither."""
    await engine.create("accounts", "a", {"n": 1}, durable=False)
    for write in (
        engine.create("accounts", "b", {"bad\x00key": 1}, durable=False),
        engine.create("accounts", "c", {"n": 2**64 - 1}, durable=False),
        engine.update("accounts", "a", {"n": 2**63}, durable=False),
        engine.upsert("accounts", "a", {"k\x00": 1}, {}, durable=False),
        engine.replace("accounts", "a", {"\x00": 1}, durable=False),
    ):
        with pytest.raises(UnstorableValue):
            await write
    assert await engine.get("accounts", "a") == Stored("a", {"n": 1}, 1)
    assert await engine.mget("accounts", ["b", "c"]) == []


async def test_duplicate_on_a_nested_path_names_path_value_and_holder(engine: MongoEngine) -> None:
    await engine.create("accounts", "a", {"profile": {"login": "ann"}, "keys": ["k1"]}, durable=True)
    await engine.create("accounts", "b", {"profile": {"login": "bob"}}, durable=False)
    expected = ("profile.login", "ann", "a")
    for write in (
        engine.create("accounts", "c", {"profile": {"login": "ann"}}, durable=False),
        engine.replace("accounts", "b", {"profile": {"login": "ann"}}, durable=False),
        engine.update("accounts", "b", {"profile.login": "ann"}, durable=False),
        engine.update("accounts", "b", {"profile": {"login": "ann"}}, durable=False),
        engine.upsert("accounts", "b", {"profile.login": "ann"}, {}, durable=False),
        engine.upsert("accounts", "new", {}, {"profile": {"login": "ann"}}, durable=False),
    ):
        with pytest.raises(DuplicateKey) as caught:
            await write
        assert (caught.value.path, caught.value.value, caught.value.holder) == expected
    assert await engine.get("accounts", "b") == Stored("b", {"profile": {"login": "bob"}}, 1)
    assert await engine.get("accounts", "new") is None


async def test_duplicate_id_is_not_a_unique_path(engine: MongoEngine) -> None:
    await engine.create("accounts", "a", {"profile": {"login": "ann"}}, durable=False)
    with pytest.raises(DuplicateKey) as caught:
        await engine.create("accounts", "a", {"profile": {"login": "other"}}, durable=False)
    assert (caught.value.path, caught.value.value, caught.value.holder) == ("_id", "a", "a")


async def test_upsert_with_overlapping_insert_defaults(engine: MongoEngine) -> None:
    stored, created = await engine.upsert(
        "accounts",
        "a",
        {"profile.login": "ann", "team": "x"},
        {"profile": {"login": "default", "lang": "en"}, "team": "none", "keys": ["k"]},
        durable=True,
    )
    assert created is True
    assert stored == Stored("a", {"profile": {"lang": "en", "login": "ann"}, "keys": ["k"], "team": "x"}, 1)


async def test_upsert_inserts_null_and_empty_array_defaults(
    engine: MongoEngine, mongodb_server: MongoServer, request: pytest.FixtureRequest
) -> None:
    if mongodb_server.ferretdb:
        request.applymarker(
            pytest.mark.xfail(
                reason="FerretDB 1.x $setOnInsert drops null and [] (tests/README.md)", strict=True
            )
        )
    stored, created = await engine.upsert(
        "accounts", "a", {"team": "x"}, {"keys": [], "gone": None}, durable=False
    )
    assert (stored, created) == (Stored("a", {"team": "x", "keys": [], "gone": None}, 1), True)


async def test_database_name_comes_from_the_url(mongodb_server: MongoServer) -> None:
    name = f"kstest_{uuid.uuid4().hex[:16]}"
    engine = MongoEngine(f"{mongodb_server.url.rstrip('/')}/{name}")
    await engine.open([ACCOUNTS])
    try:
        await engine.create("accounts", "a", {}, durable=False)
        async with Client(mongodb_server.url) as client:
            assert await client[name]["accounts"].find_one({"_id": "a"}) == {"_id": "a", "_v": 1, "s": {}}
            await client.drop_database(name)
    finally:
        await engine.close()


def test_query_shapes() -> None:
    assert query(Eq("a.b", None)) == {"s.a.b": None}
    assert query(In("_id", ())) == {"_id": {"$in": []}}
    assert query(And(())) == {}
    assert query(Or(())) == {"_id": {"$in": []}}
    assert query(Not(Eq("a", 1))) == {"$nor": [{"s.a": 1}]}
    assert query(Range("n", gt=1)) == {"s.n": {"$gt": 1}}
    # Two bounds: one array element must meet both ($elemMatch); a scalar meets them directly.
    assert query(Range("n", gte=1, lt=2)) == {
        "$or": [
            {"s.n": {"$elemMatch": {"$gte": 1, "$lt": 2}}},
            {"$and": [{"s.n": {"$gte": 1, "$lt": 2}}, {"s.n": {"$not": {"$type": "array"}}}]},
        ]
    }


def test_insert_defaults_never_overlap_set_paths() -> None:
    assert _on_insert_only({"a.b": 1, "c": 2}, {"a": {"b": 0, "x": {"y": 1}}, "c": 0, "c.d": 0, "e": 3}) == {
        "a.x": {"y": 1},
        "e": 3,
    }
    assert _on_insert_only({"a.b.c": 1}, {"a": {"b": {"c": 0, "d": 1}, "z": 2}}) == {"a.b.d": 1, "a.z": 2}
    assert _on_insert_only({}, {"a": 1}) == {"a": 1}


def test_url_options_win_over_defaults() -> None:
    assert _client_options("mongodb://h/db?serverselectiontimeoutms=50") == {"connectTimeoutMS": 2000}
    assert _client_options("mongodb://h/") == {"serverSelectionTimeoutMS": 2000, "connectTimeoutMS": 2000}


async def test_open_against_nothing_fails_fast() -> None:
    engine = MongoEngine(f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=300")
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        await engine.open([ACCOUNTS])
    assert time.monotonic() - started < 3
    assert await engine.ping() is False
    await engine.close()


@pytest.fixture
def own_ferretdb(tmp_path: Path) -> Iterator[FerretDB]:
    with FerretDB(tmp_path) as server:
        yield server


# PyMongo 4.20 leaks the monitor's socket when a failed operation cancels the monitor's connection
# attempt (pool_shared._async_create_connection closes it on OSError only, not on cancellation),
# which only an outage provokes.
@pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
async def test_outage_fails_fast_and_the_engine_recovers(own_ferretdb: FerretDB) -> None:
    engine = MongoEngine(f"{own_ferretdb.url}outage?serverSelectionTimeoutMS=500")
    await engine.open([ACCOUNTS])
    try:
        await engine.create("accounts", "a", {"profile": {"login": "ann"}}, durable=True)

        own_ferretdb.stop()
        for attempt in (
            engine.get("accounts", "a"),
            engine.create("accounts", "b", {}, durable=True),
            engine.search("accounts", MATCH_ALL),
        ):
            started = time.monotonic()
            with pytest.raises(StorageUnavailable):
                await attempt
            assert time.monotonic() - started < 3, "no hang while the server is down"
        assert await engine.ping() is False

        own_ferretdb.start()  # same data directory and port
        deadline = time.monotonic() + 5  # the driver rechecks a failed server every 0.5 s at most
        while not await engine.ping():
            assert time.monotonic() < deadline, "the engine did not reconnect by itself"
        assert await engine.get("accounts", "a") == Stored("a", {"profile": {"login": "ann"}}, 1)
        assert await engine.create("accounts", "b", {}, durable=True) == Stored("b", {}, 1)
        with pytest.raises(DuplicateKey):  # the indexes survived the restart
            await engine.create("accounts", "c", {"profile": {"login": "ann"}}, durable=False)
    finally:
        await engine.close()


def test_write_conflicts_are_told_from_outages_and_other_failures() -> None:
    # The servers' own error documents, as the driver raises them (FerretDB's text is verbatim);
    # FerretDB's "database is locked" comes after its 10 s busy timeout: an overload, not a conflict.
    busy = (
        "[msg_findandmodify.go:196 handler.(*Handler).findAndModifyDocument] [update.go:114 "
        "common.UpdateDocument] database is locked (5) (SQLITE_BUSY)"
    )
    assert not _is_write_conflict(OperationFailure(busy, 1, {"ok": 0.0, "errmsg": busy, "code": 1}))
    assert _is_write_conflict(OperationFailure("WriteConflict", 112, {"ok": 0.0, "code": 112}))
    labelled = {"ok": 0.0, "code": 251, "errorLabels": ["TransientTransactionError"]}
    assert _is_write_conflict(OperationFailure("NoSuchTransaction", 251, labelled))
    other = "[msg_find.go:90] disk I/O error (10) (SQLITE_IOERR)"
    assert not _is_write_conflict(OperationFailure(other, 1, {"ok": 0.0, "errmsg": other, "code": 1}))
    assert not _is_write_conflict(DuplicateKeyError("E11000 duplicate key", 11000, {"code": 11000}))
    assert not _is_write_conflict(ValueError("not a driver error"))
    assert not _is_write_conflict(None)
