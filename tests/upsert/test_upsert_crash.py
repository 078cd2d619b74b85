"""kill -9 during an upsert storm: every acknowledged upsert survives, nothing is duplicated."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from pathlib import Path
from typing import Any

from tests.kclient import KClient, kclient
from tests.server_process import start_server
from tests.upsert.conftest import IDENTITY_ARGS

WRITERS = 16


async def storm(
    url: str, acked: dict[str, dict[str, Any]], stop: asyncio.Event, counter: itertools.count[int]
) -> None:
    try:
        async with kclient(url) as client:
            while not stop.is_set():
                n = next(counter)
                body: dict[str, Any] = {"content": {"profileIds": ["default"], "n": n}}
                args: dict[str, Any] = {"_id": f"crash-{n}"}
                if n % 3 == 0:  # identity-keyed, all fighting over a small set of e-mails
                    body["content"]["emails"] = [f"shared-{n % 7}@x.io"]
                    args = {}
                if n % 25 == 0:
                    body["credentials"] = {"local": {"username": f"crash-user-{n}", "password": "p4ssw0rd!"}}
                reply = await client.query(
                    {"controller": "security", "action": "upsertUser", "body": body, **args}, timeout=5
                )
                if reply["error"] is None:
                    acked[f"n{n}"] = {"id": reply["result"]["_id"], "n": n, "creds": "credentials" in body}
    except Exception:  # the server died under us: what was acknowledged is in `acked`
        return


async def test_kill_9_during_upsert_storm(tmp_path: Path) -> None:
    await kill_9_during_storm_then_check(tmp_path, storage=None)


async def kill_9_during_storm_then_check(tmp_path: Path, storage: str | None) -> int:
    """Storm a server with upserts, kill -9 it, restart it on the same store and check every
    acknowledged upsert (``check_acknowledged``); returns how many were acknowledged."""
    server = start_server(tmp_path, storage=storage, args=IDENTITY_ARGS)
    acked: dict[str, dict[str, Any]] = {}
    stop = asyncio.Event()
    writers = [
        asyncio.create_task(storm(server.ws_url, acked, stop, itertools.count(i * 1_000_000)))
        for i in range(WRITERS)
    ]
    await asyncio.sleep(2.0)
    server.kill()
    stop.set()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.gather(*writers, return_exceptions=True), 10)
    assert len(acked) > 50, "the storm acknowledged too few upserts to mean anything"

    restarted = start_server(tmp_path, storage=server.storage, args=IDENTITY_ARGS)
    try:
        async with kclient(restarted.ws_url) as client:
            await check_acknowledged(client, acked)  # none lost, no identity duplicated
    finally:
        restarted.stop()
    return len(acked)


async def check_acknowledged(client: KClient, acked: dict[str, dict[str, Any]]) -> None:
    ids = sorted({entry["id"] for entry in acked.values()})
    found: dict[str, Any] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        hits = (await client.call("security", "mGetUsers", body={"ids": chunk}))["hits"]
        found.update({hit["_id"]: hit["_source"] for hit in hits})
    missing = [i for i in ids if i not in found]
    assert not missing, f"{len(missing)} acknowledged upserts lost: {missing[:5]}"
    for email_n in range(7):
        email = f"shared-{email_n}@x.io"
        result = await client.call("security", "searchUsers", body={"query": {"term": {"emails": email}}})
        assert result["total"] <= 1, f"{email} duplicated"
    for entry in acked.values():
        if entry["creds"]:
            strategies = await client.call("security", "getUserStrategies", _id=entry["id"])
            assert strategies["strategies"] == ["local"] or entry["n"] % 3 == 0  # identity upserts may update
