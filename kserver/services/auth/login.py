"""Logins: find the user by its login name, verify, throttle failures, upgrade old hashes.

An unknown login name and a wrong password give the same error
(``plugin.strategy.missing_user``, "wrong username or password") after the same
work: strategies that can (``HardenedStrategy``) verify a dummy hash for unknown users.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, runtime_checkable

from kserver.services.auth.throttle import LoginThrottle
from kserver.services.collections import USERS
from kserver.services.strategy import Strategies
from kserver.storage.filters import Eq
from kserver.storage.port import Engine, StorageConflict
from kserver.wire.catalog import kerror

log = logging.getLogger("kserver.auth")

FAILED = "wrong username or password"


@runtime_checkable
class HardenedStrategy(Protocol):
    async def verify_unknown(self, payload: dict[str, Any]) -> None: ...

    async def upgraded(self, stored: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any] | None: ...


class Login:
    def __init__(self, engine: Engine, strategies: Strategies, throttle: LoginThrottle) -> None:
        self.engine = engine
        self.strategies = strategies
        self.throttle = throttle

    async def authenticate(self, name: str, payload: Any, address: str | None) -> str:
        """The kuid whose credentials match ``payload``; raises missing_user or too_many_logins_requests."""
        strategy = self.strategies.get(name)
        if not isinstance(payload, dict):
            raise kerror("plugin.strategy.missing_user", "Missing credentials")
        key = strategy.login_key(payload)
        if key is None or not payload.get("password"):
            raise kerror("plugin.strategy.missing_user", "Missing credentials")
        login = str(key[1])
        self.throttle.check(login, address)
        page = await self.engine.search(USERS, Eq(key[0], key[1]), limit=1)
        user = page.hits[0] if page.hits else None
        credentials = user.source.get("credentials") if user is not None else None
        stored = credentials.get(name) if isinstance(credentials, dict) else None
        if user is None or not isinstance(stored, dict):
            if isinstance(strategy, HardenedStrategy):
                await strategy.verify_unknown(payload)
            ok = False
        else:
            ok = await strategy.verify(stored, payload)
        if not ok or user is None or stored is None:
            self.throttle.failed(login, address)
            raise kerror("plugin.strategy.missing_user", FAILED)
        self.throttle.succeeded(login)
        if isinstance(strategy, HardenedStrategy):
            fresh = await strategy.upgraded(stored, payload)
            if fresh is not None:
                try:
                    await self.engine.update(
                        USERS, user.id, {f"credentials.{name}": fresh}, if_version=user.version, durable=False
                    )
                    log.info("upgraded the %s password hash of user %s", name, user.id)
                except StorageConflict:
                    pass  # changed meanwhile (maybe a new password): the next login upgrades it
        return user.id
