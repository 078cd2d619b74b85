"""Concurrency with real concurrent clients: no lost update, exactly one first admin."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.kclient import kclient
from tests.security.calls import new_user, ok
from tests.server_process import ServerProcess


@pytest.mark.ferretdb_gap("findAndModify reads then writes (FerretDB#3040): concurrent updates are lost")
async def test_concurrent_updates_of_different_fields_are_all_kept(secserver: ServerProcess) -> None:
    async with kclient(secserver.ws_url) as setup:
        kuid = await new_user(setup, base=True)

    async def update(i: int) -> None:
        async with kclient(secserver.ws_url) as client:
            await ok(client, "updateUser", _id=kuid, body={f"field{i}": i})

    await asyncio.gather(*(update(i) for i in range(32)))
    async with kclient(secserver.ws_url) as check:
        source = (await ok(check, "getUser", _id=kuid))["_source"]
    assert {f"field{i}": i for i in range(32)}.items() <= source.items()
    assert source["base"] is True
    assert source["profileIds"] == ["default"]


async def test_concurrent_first_admins_exactly_one_wins(own_server: ServerProcess) -> None:
    async def attempt(i: int) -> dict[str, Any]:
        async with kclient(own_server.ws_url) as client:
            return await client.query(
                {"controller": "security", "action": "createFirstAdmin", "_id": f"admin-{i}", "body": {}}
            )

    replies = await asyncio.gather(*(attempt(i) for i in range(16)))
    winners = [r for r in replies if r["status"] == 200]
    losers = [r for r in replies if r["status"] != 200]
    assert len(winners) == 1, [r["error"] for r in replies]
    assert all(r["status"] == 412 and r["error"]["id"] == "api.process.admin_exists" for r in losers)
    async with kclient(own_server.ws_url) as client:
        admins = await ok(client, "searchUsers", body={"query": {"term": {"profileIds": "admin"}}})
    assert [hit["_id"] for hit in admins["hits"]] == [winners[0]["result"]["_id"]]
