"""The auth services in-process, on a real SQLite file: dummy verification for unknown users,
user deletion, the shared JWT secret, and revocation through the token cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kserver.config import Settings
from kserver.services.auth.bundle import AuthServices
from kserver.services.auth.secret import load_secret
from kserver.services.collections import API_KEYS, TOKENS, USERS, collection_specs
from kserver.services.user_events import UserEvent
from kserver.storage import engine_for_url
from kserver.storage.filters import MatchAll
from kserver.storage.port import Engine
from kserver.wire.catalog import KuzzleError
from kserver.wire.context import Connection
from kserver.wire.request import Request
from tests.security.auth_world import FAST_ARGON2


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    store = engine_for_url(f"sqlite:///{tmp_path / 'k.db'}")
    await store.open(collection_specs())
    yield store
    await store.close()


@pytest.fixture
async def auth(engine: Engine) -> AsyncIterator[AuthServices]:
    settings = Settings(
        argon2_memory_kib=FAST_ARGON2.memory_kib,
        argon2_time_cost=FAST_ARGON2.time_cost,
        argon2_parallelism=FAST_ARGON2.parallelism,
        hash_workers=1,
    )
    services = AuthServices.build(settings, engine, "knode-test")
    await services.start()
    local = services.strategies.get("local")
    stored = await local.prepare("ivy-id", {"username": "ivy", "password": "ivy-pw"}, current=None)
    await engine.create(
        USERS,
        "ivy-id",
        {"content": {"profileIds": ["admin"]}, "credentials": {"local": stored}},
        durable=True,
    )
    yield services
    services.passwords.close()


def _request(jwt: str | None) -> Request:
    return Request("auth", "getCurrentUser", "r1", "websocket", jwt=jwt)


async def test_unknown_user_costs_one_verification_like_a_wrong_password(auth: AuthServices) -> None:
    before = auth.passwords.verifications
    with pytest.raises(KuzzleError) as unknown:
        await auth.login.authenticate("local", {"username": "nobody", "password": "x"}, None)
    assert auth.passwords.verifications == before + 1
    with pytest.raises(KuzzleError) as wrong:
        await auth.login.authenticate("local", {"username": "ivy", "password": "x"}, None)
    assert auth.passwords.verifications == before + 2
    assert unknown.value.to_json() == wrong.value.to_json()
    assert await auth.login.authenticate("local", {"username": "ivy", "password": "ivy-pw"}, None) == "ivy-id"


async def test_deleted_user_tokens_die_at_once_and_are_purged(auth: AuthServices, engine: Engine) -> None:
    gate = auth.gate(None)
    connection = Connection("websocket")
    info = await auth.tokens.issue("ivy-id", 60_000)
    await auth.api_keys.create("ivy-id", "k", expires_in=None, key_id=None, creator="ivy-id", durable=True)
    assert (await gate.authenticate(_request(info.jwt), connection)).profile_ids == ("admin",)  # now cached
    # What the users service does on deleteUser: the store write, then the event (same node).
    await engine.delete(USERS, "ivy-id", durable=True)
    auth.on_user_event(UserEvent("delete", "ivy-id", None))
    with pytest.raises(KuzzleError) as error:
        await gate.authenticate(_request(info.jwt), connection)
    assert error.value.id == "security.token.invalid"
    # The purge deletes the tokens, then the API keys, each a durable write: poll for both (a
    # committed delete is visible before its sync answers the purge and lets it go on).
    for _ in range(100):
        if await engine.count(TOKENS, MatchAll()) == 0 and await engine.count(API_KEYS, MatchAll()) == 0:
            break
        await asyncio.sleep(0.01)
    assert await engine.count(TOKENS, MatchAll()) == 0
    assert await engine.count(API_KEYS, MatchAll()) == 0


async def test_revocation_bypasses_the_cache(auth: AuthServices) -> None:
    info = await auth.tokens.issue("ivy-id", 60_000)
    assert (await auth.tokens.verify(info.jwt)).kuid == "ivy-id"  # cached from here on
    await auth.tokens.revoke_user("ivy-id")
    with pytest.raises(KuzzleError) as error:
        await auth.tokens.verify(info.jwt)
    assert error.value.id == "security.token.invalid"


async def test_generated_secret_is_shared_by_concurrent_starts(engine: Engine) -> None:
    secrets = await asyncio.gather(*(load_secret(engine, "") for _ in range(5)))
    assert len(set(secrets)) == 1
    assert len(secrets[0]) == 1024
    assert await load_secret(engine, "") == secrets[0]
    assert await load_secret(engine, "configured") == "configured"


async def test_production_refuses_a_generated_secret(engine: Engine) -> None:
    services = AuthServices.build(Settings(production=True), engine, "knode-test")
    with pytest.raises(RuntimeError):
        await services.start()
    services.passwords.close()
