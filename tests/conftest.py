"""Fixtures that build the world: a real kserver process on a free port with a temporary SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_process import ServerProcess, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One kserver per test module (embedded engine), stopped with SIGTERM afterwards."""
    handle = start_server(tmp_path_factory.mktemp("kserver"))
    yield handle
    handle.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A kserver of its own for one test."""
    handle = start_server(tmp_path)
    yield handle
    handle.stop()
