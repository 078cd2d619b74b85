"""security:mUpsertUsers: per-item errors, idempotent replays, the size limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.kclient import kclient
from tests.server_process import ServerProcess, running_server
from tests.upsert.conftest import IDENTITY_ARGS


async def test_batch_with_errors_and_replay(idserver: ServerProcess) -> None:
    users = [
        {"content": {"profileIds": ["default"], "emails": ["b1@x.io"], "name": "one"}},
        {"_id": "batch-two", "content": {"profileIds": ["default"], "employeeId": "B-2"}},
        {"content": {"profileIds": ["nope"], "emails": ["b3@x.io"]}},
        {"content": "not an object"},
        {"content": {"profileIds": ["default"]}},
        {"content": {"profileIds": ["default"], "emails": ["b6@x.io"]}, "credentials": {"ldap": {}}},
    ]
    async with kclient(idserver.ws_url) as client:
        first = await client.call("security", "mUpsertUsers", body={"users": users})
        assert [s["created"] for s in first["successes"]] == [True, True]
        assert first["successes"][1]["_id"] == "batch-two"
        errors = {e["index"]: e for e in first["errors"]}
        assert errors[2]["id"] == "security.profile.not_found"
        assert errors[2]["status"] == 404
        assert errors[3]["id"] == "api.assert.invalid_type"
        assert errors[4]["id"] == "api.assert.missing_argument"
        assert errors[5]["id"] == "security.credentials.unknown_strategy"
        assert "credentials" not in errors[5]["user"]
        assert errors[2]["user"] == users[2]
        replay = await client.call("security", "mUpsertUsers", body={"users": users})
        assert [s["created"] for s in replay["successes"]] == [False, False]
        assert [s["_id"] for s in replay["successes"]] == [s["_id"] for s in first["successes"]]
        assert len(replay["errors"]) == 4


async def test_a_large_batch_replayed_updates_every_user(idserver: ServerProcess) -> None:
    # 64 concurrent updates of existing users (group commits on SQLite, concurrent
    # findAndModify on MongoDB): every one is an update, none is lost or reported twice.
    users: list[dict[str, Any]] = [
        {"_id": f"replay-{i}", "content": {"profileIds": ["default"], "i": i}} for i in range(600)
    ]
    async with kclient(idserver.ws_url) as client:
        first = await client.call("security", "mUpsertUsers", body={"users": users})
        assert (len(first["successes"]), first["errors"]) == (600, [])
        for user in users:
            user["content"]["replayed"] = True
        replay = await client.call("security", "mUpsertUsers", body={"users": users})
        assert replay["errors"] == []
        assert [s["created"] for s in replay["successes"]] == [False] * 600
        assert all(s["_source"]["replayed"] is True for s in replay["successes"])


async def test_batch_argument_errors(idserver: ServerProcess) -> None:
    async with kclient(idserver.ws_url) as client:
        missing = await client.query({"controller": "security", "action": "mUpsertUsers", "body": {}})
        assert missing["error"]["id"] == "api.assert.missing_argument"
        wrong = await client.query(
            {"controller": "security", "action": "mUpsertUsers", "body": {"users": {}}}
        )
        assert wrong["error"]["id"] == "api.assert.invalid_type"


async def test_batch_too_large(tmp_path: Path) -> None:
    with running_server(tmp_path, args=(*IDENTITY_ARGS, "--batch-upsert-max", "5")) as srv:
        async with kclient(srv.ws_url) as client:
            users = [{"content": {"profileIds": ["default"], "employeeId": f"L{i}"}} for i in range(6)]
            reply = await client.query(
                {"controller": "security", "action": "mUpsertUsers", "body": {"users": users}}
            )
            assert reply["status"] == 413
            assert reply["error"]["id"] == "services.storage.write_limit_exceeded"
            ok = await client.call("security", "mUpsertUsers", body={"users": users[:5]})
            assert len(ok["successes"]) == 5
