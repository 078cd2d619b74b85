"""The registry of storage engines the contract suite runs against, by name.

Each factory takes a fresh temporary directory and is an async context manager
yielding an opened engine on an empty store. ``ENGINE_FIXTURES`` names the
pytest fixtures an engine needs active first (e.g. a session-wide server);
they are every fixture its module defines, so ``conftest`` re-exports them.
MongoDB is registered when ``tests/storage/engines_mongodb.py`` exists.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from kserver.storage.port import Engine
from kserver.storage.sqlite import SqliteEngine

EngineFactory = Callable[[Path], AbstractAsyncContextManager[Engine]]

_MONGODB_MODULE = "tests.storage.engines_mongodb"


@asynccontextmanager
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[Engine]:
    engine = SqliteEngine(str(tmp_path / "store" / "kserver.db"))
    await engine.open([])
    try:
        yield engine
    finally:
        await engine.close()


def _mongodb_module() -> ModuleType | None:
    if importlib.util.find_spec(_MONGODB_MODULE) is None:
        return None
    return importlib.import_module(_MONGODB_MODULE)


def module_fixtures(module: ModuleType) -> dict[str, Any]:
    """The pytest fixtures ``module`` defines, by attribute name."""
    # pytest has no public "is this a fixture" test; these are its markers (pytest >= 8.4, older).
    markers = ("_fixture_function_marker", "_pytestfixturefunction")
    return {name: value for name, value in vars(module).items() if any(hasattr(value, m) for m in markers)}


def _registry() -> tuple[dict[str, EngineFactory], dict[str, dict[str, Any]]]:
    factories: dict[str, EngineFactory] = {"sqlite": sqlite_engine}
    fixtures: dict[str, dict[str, Any]] = {"sqlite": {}}
    mongodb = _mongodb_module()
    if mongodb is not None:
        factories["mongodb"] = mongodb.mongodb_engine
        fixtures["mongodb"] = module_fixtures(mongodb)
    return factories, fixtures


ENGINE_FACTORIES, ENGINE_FIXTURES = _registry()
