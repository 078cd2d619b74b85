"""Fixtures of the security tests: servers with cheap password hashing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import storage_url
from tests.server_process import ServerProcess, start_server

# Fast argon2 parameters: the tests exercise the security model, not the hash cost.
CHEAP_HASH = ("--argon2-memory-kib", "1024", "--argon2-time-cost", "1")


@pytest.fixture(scope="module")
def secserver(
    request: pytest.FixtureRequest, engine_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server per module and engine, shared by tests that do not restrict the default rights."""
    directory = tmp_path_factory.mktemp("ksec")
    handle = start_server(directory, storage=storage_url(request, engine_name, directory), args=CHEAP_HASH)
    yield handle
    handle.stop()


@pytest.fixture
def own_server(request: pytest.FixtureRequest, engine_name: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own, for tests that change the global rights or need an empty store."""
    handle = start_server(tmp_path, storage=storage_url(request, engine_name, tmp_path), args=CHEAP_HASH)
    yield handle
    handle.stop()
