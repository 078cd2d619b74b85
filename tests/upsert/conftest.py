"""A server with identity keys, shared by the upsert tests of one module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server_process import ServerProcess, start_server

IDENTITY_ARGS = ("--identity-keys", "emails,employeeId")


@pytest.fixture(scope="module")
def idserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    handle = start_server(tmp_path_factory.mktemp("kserver-id"), args=IDENTITY_ARGS)
    yield handle
    handle.stop()
