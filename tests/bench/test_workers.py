"""``kserver --workers 2``: two processes on one port sharing one SQLite file (real sockets)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from kserver.config import load_settings
from tests.kclient import KClient, kclient
from tests.server_process import ServerProcess, start_server

CONNECTIONS = 16


def nodes_answering(server: ServerProcess, want: int, timeout: float = 20) -> set[str]:
    """Node names seen on /_healthcheck (a new connection each time) until ``want`` distinct ones."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < want and time.monotonic() < deadline:
        with httpx.Client() as http:  # a new client: a new source port, maybe another worker
            seen.add(http.get(f"{server.http_url}/_healthcheck", timeout=2).json()["node"])
        time.sleep(0.02)
    return seen


@pytest.fixture(scope="module")
def workers_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("kserver-workers")
    handle = start_server(directory, args=("--workers", "2"))
    try:
        assert len(nodes_answering(handle, 2)) == 2, handle.log()
        yield handle
    finally:
        handle.stop()


@pytest.fixture
async def clients(workers_server: ServerProcess) -> AsyncIterator[list[tuple[KClient, str]]]:
    """CONNECTIONS clients, each with the node (worker) that serves it."""
    async with AsyncExitStack() as stack:
        out = []
        for _ in range(CONNECTIONS):
            client = await stack.enter_async_context(kclient(workers_server.ws_url))
            node = (await client.query({"controller": "server", "action": "now"}))["node"]
            out.append((client, node))
        yield out


async def test_connections_spread_over_both_workers(clients: list[tuple[KClient, str]]) -> None:
    assert len({node for _, node in clients}) == 2


async def test_concurrent_upserts_of_one_new_id_give_one_user(clients: list[tuple[KClient, str]]) -> None:
    frames = [
        {
            "controller": "security",
            "action": "upsertUser",
            "_id": "same-across-workers",
            "body": {"content": {"profileIds": ["default"], "i": i}},
        }
        for i in range(64)
    ]
    replies = await asyncio.gather(
        *(clients[i % CONNECTIONS][0].query(frame) for i, frame in enumerate(frames))
    )
    assert [r["error"] for r in replies if r["error"]] == []
    assert len({r["node"] for r in replies}) == 2  # both workers wrote
    assert sum(r["result"]["created"] for r in replies) == 1
    found = await clients[0][0].call(
        "security", "searchUsers", body={"query": {"ids": {"values": ["same-across-workers"]}}}
    )
    assert found["total"] == 1


async def test_user_created_through_one_worker_is_read_through_the_other(
    clients: list[tuple[KClient, str]],
) -> None:
    (writer, writer_node), *rest = clients
    reader = next(client for client, node in rest if node != writer_node)
    created = await writer.call(
        "security",
        "upsertUser",
        _id="cross-worker",
        body={"content": {"profileIds": ["default"], "city": "Lyon"}},
    )
    assert created["created"] is True
    read = await reader.call("security", "getUser", _id="cross-worker")
    assert read["_source"]["city"] == "Lyon"


def test_sigterm_stops_every_worker_and_exits_0(tmp_path: Path) -> None:
    server = start_server(tmp_path, args=("--workers", "2"))
    assert len(nodes_answering(server, 2)) == 2
    assert server.stop() == 0, server.log()
    assert server.log().count("Application shutdown complete") == 2


def test_workers_default_and_flag() -> None:
    assert load_settings([], environ={}).workers == 1
    assert load_settings(["--workers", "3"], environ={}).workers == 3
    assert load_settings([], environ={"KSERVER_WORKERS": "2"}).workers == 2


def test_workers_below_one_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="at least 1"):
        start_server(tmp_path, args=("--workers", "0"), ready_timeout=10)


def test_a_worker_that_cannot_bind_stops_the_supervisor_with_1(tmp_path: Path) -> None:
    with socket.socket() as holder:  # bound without SO_REUSEPORT: no worker can share it
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(RuntimeError, match="exited with 1"):
            start_server(tmp_path, port=port, args=("--workers", "2"), ready_timeout=20)
