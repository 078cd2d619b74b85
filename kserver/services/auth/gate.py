"""The router's gate: who sent a request (token or API key) and whether they may run it.

A supplied jwt is always verified, even for actions anonymous may run. On a
WebSocket every finite token used is linked to the connection (TokenExpired).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from kserver.services.auth.expiry import ExpiryWatch
from kserver.services.auth.tokens import Tokens
from kserver.services.auth.user_cache import UserCache
from kserver.wire.catalog import kerror
from kserver.wire.context import ANONYMOUS, Caller, Connection
from kserver.wire.request import Request


class RightsPort(Protocol):
    """What the gate and the auth controller need of the security model's rights service."""

    def allowed_now(self, request: Request, caller: Caller) -> bool: ...

    async def check(self, request: Request, caller: Caller) -> None: ...

    async def allowed(
        self, profile_ids: Sequence[str], controller: str, action: str, args: dict[str, Any]
    ) -> bool: ...

    async def listing(self, profile_ids: Sequence[str]) -> list[dict[str, Any]]: ...


class AuthGate:
    def __init__(
        self, users: UserCache, tokens: Tokens, watch: ExpiryWatch, rights: RightsPort | None
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.watch = watch
        self.rights = rights

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
