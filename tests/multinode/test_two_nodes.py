"""Two kserver nodes on one MongoDB deployment: read-your-writes across nodes, one user per identity."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack

import pytest

from tests.kclient import KClient, kclient
from tests.server_process import ServerProcess, start_server
from tests.storage.engines_mongodb import MongoServer
from tests.upsert.conftest import IDENTITY_ARGS


@pytest.fixture(scope="module")
def nodes(
    mongodb_server: MongoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServerProcess]]:
    base, _, query = mongodb_server.url.partition("?")
    url = f"{base.rstrip('/')}/ks_nodes_{uuid.uuid4().hex[:8]}" + (f"?{query}" if query else "")
    started = [
        start_server(tmp_path_factory.mktemp(f"node{i}"), storage=url, args=IDENTITY_ARGS) for i in range(2)
    ]
    yield started
    for node in started:
        node.stop()


async def test_a_user_upserted_on_one_node_is_read_on_the_other(nodes: list[ServerProcess]) -> None:
    async with kclient(nodes[0].ws_url) as a, kclient(nodes[1].ws_url) as b:
        created = await a.call(
            "security", "upsertUser", _id="cross-1", body={"content": {"profileIds": ["default"], "n": 1}}
        )
        assert created["created"] is True
        assert (await b.call("security", "getUser", _id="cross-1"))["_source"]["n"] == 1
        await b.call(
            "security", "upsertUser", _id="cross-1", body={"content": {"profileIds": ["default"], "n": 2}}
        )
        assert (await a.call("security", "getUser", _id="cross-1"))["_source"]["n"] == 2


async def test_concurrent_upserts_of_one_identity_through_both_nodes(nodes: list[ServerProcess]) -> None:
    email = f"both-{uuid.uuid4().hex[:6]}@x.io"
    async with AsyncExitStack() as stack:
        clients: list[KClient] = [
            await stack.enter_async_context(kclient(nodes[i % 2].ws_url)) for i in range(8)
        ]
        body = {"content": {"profileIds": ["default"], "emails": [email]}}
        frames = [{"controller": "security", "action": "upsertUser", "body": body} for _ in range(64)]
        replies = await asyncio.gather(*(clients[i % 8].query(f) for i, f in enumerate(frames)))
        assert all(r["error"] is None for r in replies), [r["error"] for r in replies if r["error"]]
        assert len({r["result"]["_id"] for r in replies}) == 1
        assert sum(r["result"]["created"] for r in replies) == 1
        for node_client in clients[:2]:
            found = await node_client.call(
                "security", "searchUsers", body={"query": {"term": {"emails": email}}}
            )
            assert found["total"] == 1


async def test_a_user_deleted_on_one_node_loses_access_on_the_other_within_a_second(
    nodes: list[ServerProcess],
) -> None:
    credentials = {"local": {"username": "crossnode", "password": "a-long-password"}}
    async with kclient(nodes[0].ws_url) as a, kclient(nodes[1].ws_url) as b:
        body = {"content": {"profileIds": ["default"]}, "credentials": credentials}
        await a.call("security", "createUser", _id="cross-del", body=body)
        jwt = (await b.call("auth", "login", strategy="local", body=credentials["local"]))["jwt"]
        assert (await b.call("auth", "getCurrentUser", jwt=jwt))["_id"] == "cross-del"
        await a.call("security", "deleteUser", _id="cross-del")
        deadline = asyncio.get_running_loop().time() + 2.5  # the gate's user and token caches: 1 s each
        while True:
            # server:now depends on the gate alone: allowed while node B's caches still hold the user
            reply = await b.query({"controller": "server", "action": "now", "jwt": jwt})
            if reply["error"] is not None:
                assert reply["error"]["id"] == "security.token.invalid"
                break
            assert asyncio.get_running_loop().time() < deadline, "node B still accepts a deleted user's token"
            await asyncio.sleep(0.1)
