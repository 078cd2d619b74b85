"""Two WebSocket clients on the module's server: a subscriber and a publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.kclient import KClient, kclient
from tests.server_process import ServerProcess


@pytest.fixture
async def sub(server: ServerProcess) -> AsyncIterator[KClient]:
    async with kclient(server.ws_url) as client:
        yield client


@pytest.fixture
async def pub(server: ServerProcess) -> AsyncIterator[KClient]:
    async with kclient(server.ws_url) as client:
        yield client
