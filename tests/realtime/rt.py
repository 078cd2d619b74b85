"""Realtime test helpers over a real WebSocket: subscribe, publish, wait for notifications."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from tests.kclient import KClient

_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


async def subscribe(
    client: KClient, index: str, collection: str, filters: Any, **args: Any
) -> tuple[str, str]:
    result = await client.call(
        "realtime", "subscribe", index=index, collection=collection, body=filters, **args
    )
    return result["roomId"], result["channel"]


async def publish(client: KClient, index: str, collection: str, body: Any, **args: Any) -> None:
    result = await client.call("realtime", "publish", index=index, collection=collection, body=body, **args)
    assert result == {"published": True}


async def notification(client: KClient, timeout: float = 5) -> dict[str, Any]:
    return await asyncio.wait_for(client.notifications.get(), timeout)


async def assert_quiet(client: KClient, wait: float = 0.1) -> None:
    """Nothing was delivered to ``client`` (notifications are pushed before the causing reply)."""
    await asyncio.sleep(wait)
    assert client.notifications.empty(), client.notifications.get_nowait()
