"""A minimal Kuzzle-protocol WebSocket client for tests: send frames, await replies by requestId."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

_ids = itertools.count(1)


class KClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.jwt: str | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.unmatched: asyncio.Queue[Any] = asyncio.Queue()
        self.notifications: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = orjson.loads(raw)
            room = message.get("room") if isinstance(message, dict) else None
            future = self._pending.pop(room, None) if isinstance(room, str) else None
            if future is not None and not future.done():
                future.set_result(message)
            elif isinstance(message, dict) and message.get("type") in ("document", "user", "TokenExpired"):
                self.notifications.put_nowait(message)
            else:
                self.unmatched.put_nowait(message)

    async def query(self, frame: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """Send ``frame`` (a requestId is added if missing) and return its reply envelope."""
        frame = dict(frame)
        request_id = frame.setdefault("requestId", f"t-{next(_ids)}")
        if self.jwt is not None and "jwt" not in frame:
            frame["jwt"] = self.jwt
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self.ws.send(orjson.dumps(frame).decode())
        return await asyncio.wait_for(future, timeout)

    async def call(self, controller: str, action: str, **args: Any) -> Any:
        """``query`` that returns ``result`` and raises AssertionError on an error envelope."""
        reply = await self.query({"controller": controller, "action": action, **args})
        assert reply["error"] is None, reply["error"]
        return reply["result"]

    async def send_raw(
        self, data: str | bytes, *, expect_room: str | None = None, timeout: float = 10
    ) -> Any:
        """Send raw data; with ``expect_room``, wait for and return the reply routed to that room."""
        future: asyncio.Future[dict[str, Any]] | None = None
        if expect_room is not None:
            future = asyncio.get_running_loop().create_future()
            self._pending[expect_room] = future
        await self.ws.send(data)
        return None if future is None else await asyncio.wait_for(future, timeout)

    async def next_unmatched(self, timeout: float = 10) -> Any:
        return await asyncio.wait_for(self.unmatched.get(), timeout)

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


@asynccontextmanager
async def kclient(url: str, **kwargs: Any) -> AsyncIterator[KClient]:
    async with connect(url, max_size=32 * 1024 * 1024, **kwargs) as ws:
        client = KClient(ws)
        try:
            yield client
        finally:
            client._reader.cancel()
