"""Concurrent upserts from real clients over real sockets: no duplicates, no lost updates."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from tests.kclient import KClient, kclient
from tests.server_process import ServerProcess

CLIENTS = 8
_n = itertools.count()


@pytest.fixture
async def clients(idserver: ServerProcess) -> AsyncIterator[list[KClient]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(kclient(idserver.ws_url)) for _ in range(CLIENTS)]


def upsert_frame(body: dict[str, Any], **args: Any) -> dict[str, Any]:
    return {"controller": "security", "action": "upsertUser", "body": body, **args}


async def count_users(client: KClient, query: dict[str, Any]) -> int:
    result = await client.call("security", "searchUsers", body={"query": query})
    total: int = result["total"]
    return total


FIND_AND_MODIFY = "findAndModify reads then writes (FerretDB#3040): concurrent partial updates are lost"


@pytest.mark.ferretdb_gap(FIND_AND_MODIFY)
async def test_same_new_id(clients: list[KClient]) -> None:
    kuid = f"same-{next(_n)}"
    frames = [upsert_frame({"content": {"profileIds": ["default"], f"f{i}": i}}, _id=kuid) for i in range(64)]
    replies = await asyncio.gather(*(clients[i % CLIENTS].query(f) for i, f in enumerate(frames)))
    assert all(r["error"] is None for r in replies), [r["error"] for r in replies if r["error"]]
    assert sum(r["result"]["created"] for r in replies) == 1
    source = (await clients[0].call("security", "getUser", _id=kuid))["_source"]
    assert all(source[f"f{i}"] == i for i in range(64))  # every partial update landed


async def test_same_new_email_without_id(clients: list[KClient]) -> None:
    email = f"race-{next(_n)}@x.io"
    frames = [
        upsert_frame({"content": {"profileIds": ["default"], "emails": [email], f"g{i}": i}})
        for i in range(64)
    ]
    replies = await asyncio.gather(*(clients[i % CLIENTS].query(f) for i, f in enumerate(frames)))
    assert all(r["error"] is None for r in replies), [r["error"] for r in replies if r["error"]]
    assert len({r["result"]["_id"] for r in replies}) == 1
    assert sum(r["result"]["created"] for r in replies) == 1
    assert await count_users(clients[0], {"term": {"emails": email}}) == 1


@pytest.mark.ferretdb_gap(FIND_AND_MODIFY)
async def test_interleaved_partial_updates(clients: list[KClient]) -> None:
    kuid = f"inter-{next(_n)}"
    await clients[0].call("security", "upsertUser", _id=kuid, body={"content": {"profileIds": ["default"]}})
    rounds = [
        upsert_frame({"content": {"profileIds": ["default"], f"field{i % 16}": r}}, _id=kuid)
        for r in range(4)
        for i in range(16)
    ]
    replies = await asyncio.gather(*(clients[i % CLIENTS].query(f) for i, f in enumerate(rounds)))
    assert all(r["error"] is None for r in replies)
    source = (await clients[0].call("security", "getUser", _id=kuid))["_source"]
    assert all(f"field{i}" in source for i in range(16))


async def test_retry_on_conflict_zero_reports_conflicts(clients: list[KClient]) -> None:
    email = f"zero-{next(_n)}@x.io"
    frames = [
        upsert_frame({"content": {"profileIds": ["default"], "emails": [email]}}, retryOnConflict=0)
        for _ in range(64)
    ]
    replies = await asyncio.gather(*(clients[i % CLIENTS].query(f) for i, f in enumerate(frames)))
    errors = [r["error"] for r in replies if r["error"] is not None]
    successes = [r for r in replies if r["error"] is None]
    assert all(e["id"] == "services.storage.too_many_changes" for e in errors)
    assert len(errors) + len(successes) == 64  # every request answered, none dropped
    assert sum(r["result"]["created"] for r in successes) == 1
    assert len({r["result"]["_id"] for r in successes}) == 1
    assert await count_users(clients[0], {"term": {"emails": email}}) == 1
