"""A server with identity keys, shared by the upsert tests of one module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import storage_url
from tests.server_process import ServerProcess, start_server

IDENTITY_ARGS = ("--identity-keys", "emails,employeeId")


@pytest.fixture(scope="module")
def idserver(
    request: pytest.FixtureRequest, engine_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("kserver-id")
    handle = start_server(directory, storage=storage_url(request, engine_name, directory), args=IDENTITY_ARGS)
    yield handle
    handle.stop()
