"""Two kserver nodes sharing a real Redis: notifications reach subscribers on both, exactly once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kclient import kclient
from tests.realtime.redis_server import running_redis
from tests.realtime.rt import assert_quiet, notification, publish, subscribe, unique
from tests.server_process import ServerProcess, start_server


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    directory = tmp_path_factory.mktemp("relay")
    with running_redis(directory) as url:
        (directory / "a").mkdir()
        (directory / "b").mkdir()
        first = start_server(directory / "a", args=("--redis-url", url))  # the flag...
        try:
            second = start_server(directory / "b", env={"KSERVER_REDIS_URL": url})  # ...and the variable
            try:
                yield first, second
            finally:
                second.stop()
        finally:
            first.stop()


async def test_publish_reaches_both_nodes_once(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    first, second = nodes
    index = unique("relay")
    async with kclient(first.ws_url) as near, kclient(second.ws_url) as far, kclient(first.ws_url) as writer:
        _, near_channel = await subscribe(near, index, "c", {"equals": {"k": "v"}})
        _, far_channel = await subscribe(far, index, "c", {"equals": {"k": "v"}})
        assert near_channel == far_channel  # deterministic room ids across nodes
        await publish(writer, index, "c", {"k": "other"})
        await publish(writer, index, "c", {"k": "v"}, volatile={"n": 1}, requestId="relay-req")
        for client in (near, far):
            got = await notification(client)
            assert got["room"] == near_channel
            assert (got["requestId"], got["volatile"], got["result"]["_source"]["k"]) == (
                "relay-req",
                {"n": 1},
                "v",
            )
        await assert_quiet(near, 0.3)
        await assert_quiet(far, 0.3)


async def test_user_events_cross_nodes(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    first, second = nodes
    kuid = unique("relay-user-")
    async with kclient(second.ws_url) as watcher, kclient(first.ws_url) as writer:
        await subscribe(watcher, "%kserver", "users", {"ids": {"values": [kuid]}})
        reply = await writer.query(
            {
                "controller": "security",
                "action": "upsertUser",
                "_id": kuid,
                "body": {"content": {"profileIds": ["default"]}},
            }
        )
        assert reply["error"] is None
        got = await notification(watcher)
        assert (got["result"]["_id"], got["action"], got["result"]["created"]) == (kuid, "create", True)
        assert got["node"] == reply["node"]  # the notifying node is the writer's
        await assert_quiet(watcher, 0.3)
