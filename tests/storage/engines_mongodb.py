"""The MongoDB engine for the contract suite: ``mongodb_engine(tmp_path)`` and its session server.

``mongodb_server`` (session fixture) starts one FerretDB for the whole run, or
uses ``$KSERVER_TEST_MONGODB_URL`` when set (a real MongoDB, e.g. the compose
file's). ``mongodb_engine`` needs it active first: ``tests/storage/conftest.py``
requests every fixture of this module before it calls the factory.

``ferretdb_gaps`` marks the contract tests that FerretDB 1.24 fails where
MongoDB passes as strict xfails, on FerretDB only; each entry is a documented
FerretDB difference (tests/README.md). On MongoDB they run normally, and a
FerretDB that starts passing one fails the run (strict) so the entry goes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient, MongoClient

from kserver.storage.mongodb import MongoEngine
from kserver.storage.port import Engine
from tests.ferretdb import FerretDB


@dataclass
class MongoServer:
    url: str
    ferretdb: bool


@dataclass
class _Session:
    """The running server, set by the session fixture for the factory (whose signature is fixed)."""

    server: MongoServer | None = None


_SESSION = _Session()


def _is_ferretdb(url: str) -> bool:
    with MongoClient[dict[str, object]](url, serverSelectionTimeoutMS=5000) as client:
        return "ferretdbVersion" in client.admin.command("buildInfo")


@pytest.fixture(scope="session")
def mongodb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    """The session's MongoDB-wire server: $KSERVER_TEST_MONGODB_URL, else a FerretDB of its own."""
    external = os.environ.get("KSERVER_TEST_MONGODB_URL")
    if external:
        _SESSION.server = MongoServer(external, _is_ferretdb(external))
        yield _SESSION.server
        _SESSION.server = None
        return
    with FerretDB(tmp_path_factory.mktemp("ferretdb")) as ferretdb:
        _SESSION.server = MongoServer(ferretdb.url, ferretdb=True)
        try:
            yield _SESSION.server
        finally:
            _SESSION.server = None


_MULTIKEY = "FerretDB 1.x SQLite unique indexes hold the whole array, not each element (tests/README.md)"
_FIND_AND_MODIFY = "FerretDB 1.x SQLite findAndModify reads then writes, not atomic (FerretDB#3040)"
FERRETDB_GAPS: dict[str, str] = {
    "test_unique_array_elements[mongodb]": _MULTIKEY,
    "test_unique_violation_on_every_write_leaves_the_document[mongodb]": _MULTIKEY,
    "test_concurrent_creates_sharing_a_unique_value[mongodb]": _MULTIKEY,
    "test_concurrent_upserts_of_one_new_id[mongodb]": _FIND_AND_MODIFY,
    "test_concurrent_updates_of_different_paths[mongodb]": _FIND_AND_MODIFY,
    "test_filters[mongodb-Range(path='nums', gt=None, gte=6, lt=None, lte=9)]": (
        "FerretDB 1.x $elemMatch lets different elements meet different bounds (FerretDB#1989)"
    ),
}
"""Contract test ids FerretDB 1.24 fails, with the reason; see the module docstring."""


@pytest.fixture
def ferretdb_gaps(request: pytest.FixtureRequest, mongodb_server: MongoServer) -> None:
    reason = FERRETDB_GAPS.get(request.node.name)
    if mongodb_server.ferretdb and reason is not None:
        request.node.add_marker(pytest.mark.xfail(reason=reason, strict=True))


@asynccontextmanager
async def mongodb_engine(tmp_path: Path) -> AsyncIterator[Engine]:
    """An opened MongoEngine on a fresh database of the session server, dropped afterwards."""
    server = _SESSION.server
    if server is None:
        raise RuntimeError("request the mongodb_server fixture before mongodb_engine()")
    database = f"kstest_{uuid.uuid4().hex[:16]}"
    engine = MongoEngine(server.url, database=database)
    await engine.open([])
    try:
        yield engine
    finally:
        await engine.close()
        async with AsyncMongoClient[dict[str, object]](server.url) as client:
            await client.drop_database(database)
