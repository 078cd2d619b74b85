"""Shared world of the auth tests: a real server whose SQLite file is seeded with users first,
and clients that record every response body so tests can assert no hash ever leaks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from kserver.services.auth.local_strategy import LocalStrategy
from kserver.services.auth.passwords import Argon2Params, Passwords
from kserver.services.collections import USERS, collection_specs
from kserver.storage import engine_for_url
from tests.kclient import KClient, kclient
from tests.server_process import ServerProcess, start_server

SECRET = "test-secret-" + "x" * 64
# Fast hashing for tests, through the documented settings only (the defaults are OWASP's minimum).
FAST_ARGON2 = Argon2Params(1024, 1, 1)
SERVER_ARGS = (
    "--jwt-secret",
    SECRET,
    "--argon2-memory-kib",
    str(FAST_ARGON2.memory_kib),
    "--argon2-time-cost",
    str(FAST_ARGON2.time_cost),
    "--hash-workers",
    "2",
)
LEAKS = ('"hash":', "$argon2", "$2b$", "userPassword", "userSalt", "$passport-local$")


@dataclass(frozen=True)
class SeedUser:
    kuid: str
    username: str | None = None
    password: str | None = None
    profile_ids: tuple[str, ...] = ("admin",)
    content: dict[str, Any] = field(default_factory=dict)


async def seed(storage: str, users: list[SeedUser]) -> None:
    """Write users (with local credentials hashed by the real strategy) before the server starts."""
    engine = engine_for_url(storage)
    await engine.open(collection_specs())
    passwords = Passwords(FAST_ARGON2, 1)
    strategy = LocalStrategy(passwords)
    try:
        for user in users:
            source: dict[str, Any] = {"content": {"profileIds": list(user.profile_ids), **user.content}}
            if user.username is not None and user.password is not None:
                stored = await strategy.prepare(
                    user.kuid, {"username": user.username, "password": user.password}, current=None
                )
                source["credentials"] = {"local": stored}
            await engine.create(USERS, user.kuid, source, durable=True)
    finally:
        passwords.close()
        await engine.close()


def seeded_server(
    tmp: Path, users: list[SeedUser], *extra_args: str, storage: str | None = None
) -> ServerProcess:
    """Seed ``users`` into ``storage`` (default: a new SQLite file in ``tmp``) and start a server on it."""
    storage = storage or f"sqlite:///{tmp / 'kserver.db'}"
    asyncio.run(seed(storage, users))
    return start_server(tmp, storage=storage, args=(*SERVER_ARGS, *extra_args))


def assert_no_leak(text: str) -> None:
    for marker in LEAKS:
        assert marker not in text, f"{marker!r} leaked in {text[:300]}"


class Recorder:
    """Every response body seen by a test; checked for hashes when the test ends."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def add(self, text: str) -> None:
        self.bodies.append(text)

    def check(self) -> None:
        for body in self.bodies:
            assert_no_leak(body)


class WS:
    """A WebSocket client that records replies; ``call`` returns results, ``query`` envelopes."""

    def __init__(self, client: KClient, recorder: Recorder) -> None:
        self.client = client
        self.recorder = recorder

    async def query(self, controller: str, action: str, **args: Any) -> dict[str, Any]:
        reply = await self.client.query({"controller": controller, "action": action, **args})
        self.recorder.add(orjson.dumps(reply).decode())
        return reply

    async def call(self, controller: str, action: str, **args: Any) -> Any:
        reply = await self.query(controller, action, **args)
        assert reply["error"] is None, reply["error"]
        return reply["result"]

    async def error(self, controller: str, action: str, **args: Any) -> dict[str, Any]:
        reply = await self.query(controller, action, **args)
        assert reply["error"] is not None, reply
        error: dict[str, Any] = reply["error"]
        return error

    async def login(self, username: str, password: str, **args: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(
            "auth", "login", strategy="local", body={"username": username, "password": password}, **args
        )
        return result


@asynccontextmanager
async def ws(server: ServerProcess, recorder: Recorder) -> AsyncIterator[WS]:
    async with kclient(server.ws_url) as client:
        yield WS(client, recorder)


class HTTP:
    def __init__(self, client: httpx.AsyncClient, recorder: Recorder) -> None:
        self.client = client
        self.recorder = recorder

    async def request(
        self, method: str, path: str, *, jwt: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if jwt is not None:
            headers["Authorization"] = f"Bearer {jwt}"
        response = await self.client.request(method, path, headers=headers, **kwargs)
        self.recorder.add(response.text)
        return response

    async def result(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.request(method, path, **kwargs)
        body = response.json()
        assert body["error"] is None, body
        assert response.status_code == 200, body
        return body["result"]


@asynccontextmanager
async def http(server: ServerProcess, recorder: Recorder) -> AsyncIterator[HTTP]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as client:
        yield HTTP(client, recorder)


def recorder_fixture() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    recorder.check()
