"""The ``engine`` fixture: every registered engine, opened on an empty store with the contract's collections.

Collections: ``users`` (unique paths ``name`` and ``emails``) and ``things``
(none). Engines that need a server (MongoDB: FerretDB) get their own
fixtures, re-exported here from their module, activated first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kserver.storage.port import CollectionSpec, Engine
from tests.storage.engines import ENGINE_FACTORIES, ENGINE_FIXTURES

for _fixtures in ENGINE_FIXTURES.values():
    globals().update(_fixtures)

CONTRACT_COLLECTIONS = (
    CollectionSpec("users", unique_paths=("name", "emails")),
    CollectionSpec("things"),
)


@pytest.fixture(params=sorted(ENGINE_FACTORIES))
def engine_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    for fixture in ENGINE_FIXTURES[name]:
        request.getfixturevalue(fixture)
    return name


@pytest.fixture
async def engine(engine_name: str, tmp_path: Path) -> AsyncIterator[Engine]:
    async with ENGINE_FACTORIES[engine_name](tmp_path) as opened:
        await opened.open(CONTRACT_COLLECTIONS)  # a second open() declares more collections
        yield opened
