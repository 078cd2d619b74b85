"""Fixtures of the security tests: servers with cheap password hashing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_process import ServerProcess, start_server

# Fast argon2 parameters: the tests exercise the security model, not the hash cost.
CHEAP_HASH = ("--argon2-memory-kib", "1024", "--argon2-time-cost", "1")


@pytest.fixture(scope="module")
def secserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server per module, shared by tests that do not restrict the default rights."""
    handle = start_server(tmp_path_factory.mktemp("ksec"), args=CHEAP_HASH)
    yield handle
    handle.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own, for tests that change the global rights or need an empty store."""
    handle = start_server(tmp_path, args=CHEAP_HASH)
    yield handle
    handle.stop()
