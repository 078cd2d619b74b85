"""Revocable auth tokens and the API-key token records.

Every issued token (``kauth-<jwt>``) and every API key (``kapikey-<jwt>``) has a
record in the TOKENS collection, keyed by the sha256 of the whole token string.
A token is valid when its signature and ``exp`` check out **and** its record
exists and has not expired, so deleting the record revokes it.

Cache: verified records are kept in memory for at most ``CACHE_SECONDS`` (1 s),
bounded to ``CACHE_SIZE`` entries. Revocations through this node drop the
entries at once; another node's revocation is seen here within 1 s.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from kserver.services.auth.jwt_codec import JwtCodec
from kserver.services.auth.timespan import INFINITE, check_max_ttl, parse_timespan
from kserver.services.collections import TOKENS
from kserver.services.epoch import Epoch
from kserver.storage.filters import And, Eq, Filter, Ids, Not, Range
from kserver.storage.port import DuplicateKey, Engine
from kserver.wire.catalog import kerror

AUTH_PREFIX = "kauth-"
API_KEY_PREFIX = "kapikey-"
CACHE_SECONDS = 1.0
CACHE_SIZE = 10_000
REFRESH_GRACE_MS = 1000
_CLEANUP_EVERY_S = 60.0

TokenKind = Literal["auth", "apiKey"]


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A verified (or just issued) token. ``expires_at`` is a ms epoch, -1 for never."""

    id: str
    jwt: str
    kuid: str
    kind: TokenKind
    expires_at: int
    ttl: int
    single_use: bool = False
    refreshed: bool = False

    @property
    def infinite(self) -> bool:
        return self.expires_at == INFINITE

    def login_result(self) -> dict[str, Any]:
        return {"_id": self.kuid, "jwt": self.jwt, "expiresAt": self.expires_at, "ttl": self.ttl}


def _record(info: TokenInfo) -> dict[str, Any]:
    return {
        "kuid": info.kuid,
        "kind": info.kind,
        "expiresAt": info.expires_at,
        "ttl": info.ttl,
        "singleUse": info.single_use,
        "refreshed": info.refreshed,
    }


class Tokens:
    """Issues, verifies and revokes tokens. Call ``start(secret)`` once the store is open."""

    def __init__(self, engine: Engine, *, default_ttl: str, max_ttl: int, epoch: Epoch | None = None) -> None:
        self.engine = engine
        self.epoch = epoch or Epoch()  # bumped whenever a cached verification is dropped
        self.default_ttl = parse_timespan(default_ttl)
        self.max_ttl = max_ttl
        self._codec: JwtCodec | None = None
        self._cache: dict[str, tuple[float, TokenInfo]] = {}
        self._ids: dict[str, str] = {}  # verified token string -> its record id (see verify)
        self._last_cleanup = time.monotonic()
        self._cleanup: asyncio.Task[int] | None = None
        self.on_revoked: list[Callable[[str], None]] = []  # token ids revoked one by one

    def start(self, secret: str) -> None:
        self._codec = JwtCodec(secret)

    @property
    def codec(self) -> JwtCodec:
        if self._codec is None:
            raise RuntimeError("Tokens.start() was not called")
        return self._codec

    # ---- issuing ------------------------------------------------------------------------
    def ttl_for(self, expires_in: object, *, max_ttl: int | None = None) -> int:
        """The lifetime in ms of a requested ``expiresIn`` (None = the default); checks the max TTL."""
        ttl = self.default_ttl if expires_in is None else parse_timespan(expires_in)
        check_max_ttl(ttl, self.max_ttl if max_ttl is None else max_ttl)
        return ttl

    def sign(self, kuid: str, ttl: int, prefix: str) -> tuple[str, int]:
        """A new signed token and its expiresAt (ms epoch or -1); stores nothing."""
        issued = now_ms()
        claims: dict[str, Any] = {"_id": kuid, "iat": issued // 1000, "jti": secrets.token_hex(8)}
        expires_at = INFINITE
        if ttl != INFINITE:
            expires_at = issued + ttl
            claims["exp"] = math.ceil(expires_at / 1000)  # never before expiresAt; the record is exact
        return prefix + self.codec.encode(claims), expires_at

    async def issue(self, kuid: str, ttl: int, *, single_use: bool = False) -> TokenInfo:
        """Sign and record an auth token of ``ttl`` ms (already checked by ``ttl_for``)."""
        token, expires_at = self.sign(kuid, ttl, AUTH_PREFIX)
        info = TokenInfo(fingerprint(token), token, kuid, "auth", expires_at, ttl, single_use)
        await self.record(info)
        self._maybe_cleanup()
        return info

    async def record(self, info: TokenInfo) -> None:
        try:
            await self.engine.create(TOKENS, info.id, _record(info), durable=False)
        except DuplicateKey:  # same kuid, same ms, same random jti: cannot happen in practice
            raise kerror("security.token.generation_failed", "token collision") from None

    # ---- verification -------------------------------------------------------------------
    async def verify(self, token: str) -> TokenInfo:
        """The record of a valid token; raises security.token.invalid / security.token.expired."""
        if token.startswith(AUTH_PREFIX):
            kind: TokenKind = "auth"
        elif token.startswith(API_KEY_PREFIX):
            kind = "apiKey"
        else:
            raise kerror("security.token.invalid")
        known = self.cached(token)
        if known is not None:
            return known
        claims = self.codec.decode(token[len(AUTH_PREFIX if kind == "auth" else API_KEY_PREFIX) :])
        token_id = fingerprint(token)
        info = self._cached(token_id)
        if info is None:
            stored = await self.engine.get(TOKENS, token_id)
            if stored is None:
                raise kerror("security.token.invalid")
            source = stored.source
            info = TokenInfo(
                token_id,
                token,
                str(source["kuid"]),
                source["kind"],
                int(source["expiresAt"]),
                int(source["ttl"]),
                bool(source.get("singleUse")),
                bool(source.get("refreshed")),
            )
            if not info.single_use:
                self._remember(info)
        if info.kind != kind or info.kuid != claims["_id"]:
            raise kerror("security.token.invalid")
        if not info.infinite and info.expires_at <= now_ms():
            raise kerror("security.token.expired")
        if info.single_use and not await self.engine.delete(TOKENS, token_id, durable=False):
            raise kerror("security.token.invalid")  # another request consumed it first
        if not info.single_use:
            if len(self._ids) >= CACHE_SIZE:
                self._ids.clear()
            self._ids[token] = token_id
        return info

    def cached(self, token: str) -> TokenInfo | None:
        """``token``'s record if it is valid and was verified less than CACHE_SECONDS ago (its record
        still cached, i.e. not revoked through this node): same string, same claims, so no signature
        check, no hashing and no await. None when ``verify`` has to decide; raises for an expired one."""
        known_id = self._ids.get(token)
        info = self._cached(known_id) if known_id is not None else None
        if info is None:
            return None
        if info.kind != ("auth" if token.startswith(AUTH_PREFIX) else "apiKey"):
            raise kerror("security.token.invalid")
        if info.expires_at != INFINITE and info.expires_at <= now_ms():
            raise kerror("security.token.expired")
        return info

    def _cached(self, token_id: str) -> TokenInfo | None:
        entry = self._cache.get(token_id)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > CACHE_SECONDS:
            del self._cache[token_id]
            return None
        return entry[1]

    def fresh_until(self, token: str) -> float:
        """The monotonic time until which ``cached(token)`` may answer without a store read (0.0: now
        it cannot); a memo derived from it lives no longer."""
        entry = self._cache.get(self._ids.get(token, ""))
        return 0.0 if entry is None else entry[0] + CACHE_SECONDS

    def _remember(self, info: TokenInfo) -> None:
        if len(self._cache) >= CACHE_SIZE:
            horizon = time.monotonic() - CACHE_SECONDS
            self._cache = {k: v for k, v in self._cache.items() if v[0] >= horizon}
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self.epoch.bump()
        self._cache[info.id] = (time.monotonic(), info)

    def _forget(self, token_id: str) -> None:
        if self._cache.pop(token_id, None) is not None:
            self.epoch.bump()

    # ---- revocation ---------------------------------------------------------------------
    async def revoke(self, info: TokenInfo) -> None:
        await self.revoke_id(info.id)

    async def revoke_id(self, token_id: str) -> None:
        self._forget(token_id)
        await self.engine.delete(TOKENS, token_id, durable=True)
        for hook in self.on_revoked:
            hook(token_id)

    async def revoke_user(self, kuid: str, *, keep_api_keys: bool = True, keep: str | None = None) -> int:
        """Delete every auth token of ``kuid`` (and its API-key records unless ``keep_api_keys``),
        except the token whose id is ``keep``; returns how many went."""
        clauses: list[Filter] = [Eq("kuid", kuid)]
        if keep_api_keys:
            clauses.append(Eq("kind", "auth"))
        if keep is not None:
            clauses.append(Not(Ids((keep,))))
        for token_id, (_, info) in list(self._cache.items()):
            if info.kuid == kuid and token_id != keep and (info.kind == "auth" or not keep_api_keys):
                self._forget(token_id)
        removed = await self.engine.delete_matching(TOKENS, And(tuple(clauses)), durable=True)
        return removed

    async def refresh(self, info: TokenInfo, ttl: int) -> TokenInfo:
        """A new token for ``info.kuid``; the old one stays valid for 1 s, marked refreshed."""
        if info.kind == "apiKey":
            raise kerror("security.token.refresh_forbidden", "API Key")
        if info.infinite:
            raise kerror("security.token.refresh_forbidden", "Token with infinite TTL")
        if info.refreshed:
            raise kerror("security.token.invalid")
        fresh = await self.issue(info.kuid, ttl)
        grace = min(info.expires_at, now_ms() + REFRESH_GRACE_MS)
        self._forget(info.id)
        await self.engine.update(TOKENS, info.id, {"refreshed": True, "expiresAt": grace}, durable=False)
        return fresh

    # ---- housekeeping -------------------------------------------------------------------
    def _maybe_cleanup(self) -> None:
        if time.monotonic() - self._last_cleanup < _CLEANUP_EVERY_S:
            return
        if self._cleanup is not None and not self._cleanup.done():
            return
        self._last_cleanup = time.monotonic()
        self._cleanup = asyncio.ensure_future(self.purge_expired())

    async def purge_expired(self) -> int:
        """Delete the records of expired tokens (infinite ones stay)."""
        expired = And((Range("expiresAt", gte=0, lt=now_ms()),))
        return await self.engine.delete_matching(TOKENS, expired, durable=False)
