"""Notifications across nodes through Redis pub/sub (``--redis-url``).

Every document change notified on this node (``Hotel.on_change``: publishes and
user events) is published on one Redis channel with this process's random
``instance`` id; every node delivers the changes of the *other* instances to
its own subscribers and ignores its own, so nothing is delivered twice.
User notifications (in/out), ``count`` and ``list`` stay per node.

Publishing never blocks the request: changes go through a bounded queue that a
background task drains; when Redis is slow or away and the queue is full, new
changes are dropped for the other nodes (counted in ``dropped``, logged) while
local delivery goes on. Both tasks reconnect after Redis errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from kserver.services.realtime.hotel import Hotel
from kserver.services.realtime.notifications import DocumentChange

log = logging.getLogger("kserver.realtime.relay")

CHANNEL = "kserver:realtime:v1"
_RETRY_DELAY = 0.5


class RedisRelay:
    def __init__(self, url: str, hotel: Hotel, *, channel: str = CHANNEL, queue_size: int = 10_000) -> None:
        self.url = url
        self.hotel = hotel
        self.channel = channel
        self.instance = uuid.uuid4().hex
        self.dropped = 0
        self.received = 0
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(queue_size)
        self._client: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        hotel.on_change.append(self.on_change)

    def on_change(self, change: DocumentChange) -> None:
        message = orjson.dumps({"instance": self.instance, "change": change.to_json()})
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("Redis relay queue full: %d notifications not sent to other nodes", self.dropped)

    async def start(self) -> None:
        """Connect and subscribe (raises if Redis cannot be reached), then run in the background."""
        client = self._client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel)
        self._tasks = [
            asyncio.create_task(self._listen(pubsub), name="redis-relay-listen"),
            asyncio.create_task(self._publish(client), name="redis-relay-publish"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _publish(self, client: aioredis.Redis) -> None:
        while True:
            message = await self._queue.get()
            while True:
                try:
                    await client.publish(self.channel, message)
                    break
                except (RedisError, OSError) as error:
                    log.warning("Redis publish failed (%s); retrying", error)
                    await asyncio.sleep(_RETRY_DELAY)

    async def _listen(self, pubsub: Any) -> None:
        while True:
            try:
                message = await pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as error:
                log.warning("Redis subscription failed (%s); reconnecting", error)
                await asyncio.sleep(_RETRY_DELAY)
                continue
            if message is None or message.get("type") != "message":
                continue
            self._receive(message["data"])

    def _receive(self, data: bytes) -> None:
        try:
            decoded = orjson.loads(data)
            if decoded.get("instance") == self.instance:
                return
            change = DocumentChange.from_json(decoded["change"])
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            log.warning("ignored a malformed realtime message from Redis")
            return
        self.received += 1
        self.hotel.deliver(change)
