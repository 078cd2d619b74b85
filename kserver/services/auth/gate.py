"""The router's gate: who sent a request (token or API key) and whether they may run it.

A supplied jwt is always verified, even for actions anonymous may run. On a
WebSocket every finite token used is linked to the connection (TokenExpired).

A WebSocket connection remembers its last admission (``Admission``): the jwt, the
caller it stood for and the actions it was allowed, until the earliest deadline of
what the answer was derived from (the token's cached verification, its expiry, the
cached user, the rights memo) and only while no cache entry it came from changed
(the shared ``Epoch``). A request with the same jwt for one of those actions, with
no index or targets (the only arguments rights restrict), is then admitted with a
few compares: the same answer the full path would give, at the same moments.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

from kserver.services.auth.expiry import ExpiryWatch
from kserver.services.auth.tokens import TokenInfo, Tokens, now_ms
from kserver.services.auth.user_cache import UserCache
from kserver.services.epoch import Epoch
from kserver.wire.catalog import kerror
from kserver.wire.context import ANONYMOUS, Caller, Connection, Context
from kserver.wire.request import Request


class RightsPort(Protocol):
    """What the gate and the auth controller need of the security model's rights service."""

    def allowed_now(self, request: Request, caller: Caller) -> bool: ...

    def fresh_until(self, request: Request, caller: Caller) -> float: ...

    async def check(self, request: Request, caller: Caller) -> None: ...

    async def allowed(
        self, profile_ids: Sequence[str], controller: str, action: str, args: dict[str, Any]
    ) -> bool: ...

    async def listing(self, profile_ids: Sequence[str]) -> list[dict[str, Any]]: ...


class Admission:
    """What a connection was admitted for: valid while ``epoch`` is current, until ``until``."""

    __slots__ = ("actions", "context", "epoch", "jwt", "until")

    def __init__(self, jwt: str | None, context: Context, epoch: int, until: float) -> None:
        self.jwt = jwt
        self.context = context  # handlers never change a Context: one serves every admitted request
        self.epoch = epoch
        self.until = until
        self.actions: set[tuple[str, str]] = set()


class AuthGate:
    def __init__(
        self,
        users: UserCache,
        tokens: Tokens,
        watch: ExpiryWatch,
        rights: RightsPort | None,
        epoch: Epoch | None = None,
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.watch = watch
        self.rights = rights
        self.epoch = epoch or Epoch()
        """Shared with (bumped by) the token, user, role and profile caches."""

    def admitted(self, request: Request, connection: Connection) -> Context | None:
        """The handler's context, when the connection's admission already covers ``request``; None:
        ``admit`` decides."""
        memo = connection.admission
        if (
            memo is None
            or memo.jwt != request.jwt
            or memo.epoch != self.epoch.value
            or (request.controller, request.action) not in memo.actions
            or memo.until <= time.monotonic()
        ):
            return None
        args = request.args
        if "index" in args or "targets" in args:
            return None
        context: Context = memo.context
        return context

    async def admit(self, request: Request, connection: Connection) -> Context:
        """Authenticate, then authorize (raising their errors); remembered on a WebSocket."""
        epoch = self.epoch.value  # anything changed meanwhile makes the admission stale at once
        caller = await self.authenticate(request, connection) if request.jwt else ANONYMOUS
        if not self.allowed_now(request, caller):
            await self.authorize(request, caller)
        if connection.push is None:
            return Context(connection, caller)
        return self._remember(request, connection, caller, epoch)

    def _remember(self, request: Request, connection: Connection, caller: Caller, epoch: int) -> Context:
        now = time.monotonic()
        until = self._until(request, caller)
        memo = connection.admission
        if (
            memo is None
            or memo.jwt != request.jwt
            or memo.epoch != epoch
            or memo.context.caller is not caller
            or memo.until <= now
        ):
            if until <= now:
                return Context(connection, caller)
            memo = connection.admission = Admission(request.jwt, Context(connection, caller), epoch, until)
        else:
            memo.until = min(memo.until, until)
        memo.actions.add((request.controller, request.action))
        context: Context = memo.context
        return context

    def _until(self, request: Request, caller: Caller) -> float:
        """The earliest time any source of this admission could change its answer unannounced."""
        until = self.rights.fresh_until(request, caller) if self.rights is not None else float("inf")
        info = caller.token
        if info is None:
            return until
        if not isinstance(info, TokenInfo) or info.single_use:
            return 0.0  # a single-use token must reach the store again
        until = min(until, self.tokens.fresh_until(info.jwt), self.users.fresh_until(info.kuid))
        if not info.infinite:
            until = min(until, time.monotonic() + (info.expires_at - now_ms()) / 1000)
        return until

    async def authenticate(self, request: Request, connection: Connection) -> Caller:
        """Caller(kuid, content.profileIds, TokenInfo, user content); anonymous without a jwt."""
        if not request.jwt:
            return ANONYMOUS
        info = self.tokens.cached(request.jwt) or await self.tokens.verify(request.jwt)
        user = self.users.cached(info.kuid) or await self.users.get(info.kuid)
        if user.content is None:  # deleted user whose tokens were not purged yet
            raise kerror("security.token.invalid")
        if connection.push is not None:
            self.watch.link(info, connection)
        return Caller(info.kuid, user.profile_ids, info, user.content)

    def allowed_now(self, request: Request, caller: Caller) -> bool:
        return self.rights is None or self.rights.allowed_now(request, caller)

    async def authorize(self, request: Request, caller: Caller) -> None:
        if self.rights is not None:
            await self.rights.check(request, caller)
