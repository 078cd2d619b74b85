"""The authentication services built from Settings, for the composition root."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kserver.config import Settings
from kserver.services.auth.api_keys import ApiKeys
from kserver.services.auth.credentials import Credentials
from kserver.services.auth.expiry import ExpiryWatch
from kserver.services.auth.gate import AuthGate, RightsPort
from kserver.services.auth.local_strategy import LocalStrategy
from kserver.services.auth.login import Login
from kserver.services.auth.passwords import Argon2Params, Passwords
from kserver.services.auth.secret import load_secret
from kserver.services.auth.throttle import LoginThrottle
from kserver.services.auth.tokens import Tokens
from kserver.services.auth.user_cache import UserCache
from kserver.services.epoch import Epoch
from kserver.services.strategy import Strategies
from kserver.services.user_events import UserEvent
from kserver.storage.port import Engine


@dataclass(slots=True)
class AuthServices:
    settings: Settings
    engine: Engine
    passwords: Passwords
    strategies: Strategies
    tokens: Tokens
    watch: ExpiryWatch
    login: Login
    credentials: Credentials
    api_keys: ApiKeys
    users: UserCache
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    @classmethod
    def build(cls, settings: Settings, engine: Engine, node: str, epoch: Epoch | None = None) -> AuthServices:
        """``epoch``: the one the role and profile caches bump too (see ``AuthGate``)."""
        epoch = epoch or Epoch()
        params = Argon2Params(
            settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism
        )
        passwords = Passwords(params, settings.hash_workers)
        strategies = Strategies([LocalStrategy(passwords)])
        tokens = Tokens(engine, default_ttl=settings.token_ttl, max_ttl=settings.token_max_ttl, epoch=epoch)
        watch = ExpiryWatch(node)
        tokens.on_revoked.append(watch.revoked)
        return cls(
            settings,
            engine,
            passwords,
            strategies,
            tokens,
            watch,
            Login(engine, strategies, LoginThrottle(settings.login_failures_per_minute)),
            Credentials(engine, strategies, tokens),
            ApiKeys(engine, tokens),
            UserCache(engine, epoch=epoch),
        )

    def gate(self, rights: RightsPort | None) -> AuthGate:
        return AuthGate(self.users, self.tokens, self.watch, rights, self.tokens.epoch)

    async def start(self) -> None:
        """Once the store is open: the JWT secret (refused if missing in production) and the dummy hash."""
        if self.settings.production and not self.settings.jwt_secret:
            raise RuntimeError(
                "production mode needs a configured JWT secret (--jwt-secret / KSERVER_JWT_SECRET)"
            )
        self.tokens.start(await load_secret(self.engine, self.settings.jwt_secret))
        await self.passwords.verify_dummy("")

    async def user_deleted(self, kuid: str) -> None:
        """Hook for the users service: every token and API key of ``kuid`` dies at once."""
        await self.tokens.revoke_user(kuid, keep_api_keys=False)
        await self.api_keys.delete_user(kuid)

    def on_user_event(self, event: UserEvent) -> None:
        """UserEvents listener: a deleted user's tokens and API keys are purged.

        The gate already refuses tokens of a user that no longer exists, so the
        purge being asynchronous changes nothing for callers.
        """
        self.users.on_user_event(event)
        if event.action == "delete":
            task = asyncio.ensure_future(self.user_deleted(event.kuid))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
