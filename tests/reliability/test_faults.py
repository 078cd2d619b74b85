"""Faults injected under traffic: kill -9 of kserver on each engine, and a MongoDB outage.
No acknowledged write may be lost, nothing may be duplicated, errors must be clear and quick."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from tests.conftest import storage_url
from tests.ferretdb import FerretDB
from tests.kclient import KClient, kclient
from tests.server_process import start_server
from tests.upsert.test_upsert_crash import kill_9_during_storm_then_check


@pytest.mark.slow
async def test_kill_9_during_upsert_storm_on_each_engine(
    request: pytest.FixtureRequest, engine_name: str, tmp_path: Path
) -> None:
    acked = await kill_9_during_storm_then_check(tmp_path, storage_url(request, engine_name, tmp_path))
    print(f"{engine_name}: {acked} acknowledged upserts survived kill -9, 0 lost")


async def writer(
    url: str, name: str, acked: set[str], errors: list[tuple[str, float]], stop: asyncio.Event
) -> None:
    async with kclient(url) as client:
        for n in itertools.count():
            if stop.is_set():
                return
            kuid = f"{name}-{n}"
            started = time.monotonic()
            reply = await client.query(
                {
                    "controller": "security",
                    "action": "upsertUser",
                    "_id": kuid,
                    "body": {"content": {"profileIds": ["default"], "n": n}},
                },
                timeout=30,
            )
            if reply["error"] is None:
                acked.add(kuid)
            else:
                errors.append((reply["error"]["id"], time.monotonic() - started))
                await asyncio.sleep(0.05)


async def wait_for_service(client: KClient, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        reply = await client.query(
            {"controller": "security", "action": "getUser", "_id": "nobody"}, timeout=30
        )
        if reply["error"] is not None and reply["error"]["id"] == "security.user.not_found":
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"service not back {timeout}s after the store came back")


async def count_present(client: KClient, ids: list[str]) -> int:
    found = 0
    for start in range(0, len(ids), 500):
        hits = (await client.call("security", "mGetUsers", body={"ids": ids[start : start + 500]}))["hits"]
        found += len(hits)
    return found


async def test_mongodb_outage_mid_traffic(tmp_path: Path) -> None:
    """Stop this test's own FerretDB under traffic: requests fail fast with
    services.storage.not_connected; restart it: full service, and every acknowledged upsert is there."""
    (tmp_path / "fdb").mkdir()
    with FerretDB(tmp_path / "fdb") as mongo:
        server = start_server(tmp_path, storage=f"{mongo.url}kserver_outage")
        try:
            acked: set[str] = set()
            errors: list[tuple[str, float]] = []
            stop = asyncio.Event()
            tasks = [
                asyncio.create_task(writer(server.ws_url, f"w{i}", acked, errors, stop)) for i in range(4)
            ]
            await asyncio.sleep(1.5)
            before_outage = len(acked)
            mongo.stop()
            await asyncio.sleep(4.0)
            during_outage = list(errors)
            mongo.start()
            async with kclient(server.ws_url) as probe:
                recovery = await wait_for_service(probe, 60)
                await asyncio.sleep(1.5)
                stop.set()
                await asyncio.wait_for(asyncio.gather(*tasks), 60)
                present = await count_present(probe, sorted(acked))
        finally:
            server.stop()
    assert before_outage > 20, "too little traffic before the outage to mean anything"
    assert during_outage, "no request failed while the store was down"
    ids = {error_id for error_id, _ in errors}
    assert ids == {"services.storage.not_connected"}, ids
    slowest = max(elapsed for _, elapsed in errors)
    assert slowest < 10, f"an outage error took {slowest:.1f}s"
    assert len(acked) > before_outage, "no upsert acknowledged after the restart"
    assert present == len(acked), f"{len(acked) - present} acknowledged upserts lost"
    assert "Traceback" not in server.log()
    print(
        f"outage: {len(errors)} not_connected errors (slowest {slowest:.1f}s), service back "
        f"{recovery:.1f}s after restart, {len(acked)} acknowledged, 0 lost"
    )


async def test_mongodb_outage_mid_batch_reports_every_user(tmp_path: Path) -> None:
    """Stop FerretDB during an mUpsertUsers batch: the answer comes quickly, every user is either in
    ``successes`` (and stored) or in ``errors`` as services.storage.not_connected, to be resent."""
    (tmp_path / "fdb").mkdir()
    ids = [f"batch-{i}" for i in range(3000)]
    users = [{"_id": id, "content": {"profileIds": ["default"], "i": i}} for i, id in enumerate(ids)]
    with FerretDB(tmp_path / "fdb") as mongo:
        server = start_server(tmp_path, storage=f"{mongo.url}kserver_batch_outage")
        try:
            async with kclient(server.ws_url) as client:
                frame = {"controller": "security", "action": "mUpsertUsers", "body": {"users": users}}
                batch = asyncio.create_task(client.query(frame, timeout=120))
                await asyncio.sleep(2.0)
                assert not batch.done(), "the batch ended before the outage: make it larger"
                mongo.stop()
                stopped = time.monotonic()
                reply = await batch
                answered_after = time.monotonic() - stopped
                mongo.start()
                await wait_for_service(client, 60)
                assert reply["error"] is None, reply["error"]
                successes, errors = reply["result"]["successes"], reply["result"]["errors"]
                present = await count_present(client, [hit["_id"] for hit in successes])
        finally:
            server.stop()
    assert successes, "nothing was stored before the outage"
    assert errors, "no user failed although the store went down mid-batch"
    assert {error["id"] for error in errors} == {"services.storage.not_connected"}
    reported = sorted([hit["_id"] for hit in successes] + [error["user"]["_id"] for error in errors])
    assert reported == sorted(ids)  # each user once, in one list or the other
    assert present == len(successes), f"{len(successes) - present} reported successes are not stored"
    assert answered_after < 15, f"the batch answered {answered_after:.1f}s after the store went down"
    assert "Traceback" not in server.log()
    print(f"batch outage: {len(successes)} stored, {len(errors)} to resend, in {answered_after:.1f}s")
