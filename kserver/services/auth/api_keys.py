"""API keys: ``kapikey-<jwt>`` tokens whose sha256 fingerprint is all the store keeps.

The API_KEYS document (``{userId, description, expiresAt, ttl, fingerprint, _kuzzle_info}``)
is what clients list and delete; the TOKENS record under the same fingerprint is what
authenticates, so deleting it (first) revokes the key at once.
"""

from __future__ import annotations

from typing import Any

from kserver.services.auth.timespan import INFINITE, check_max_ttl, parse_timespan
from kserver.services.auth.tokens import API_KEY_PREFIX, TokenInfo, Tokens, fingerprint, now_ms
from kserver.services.collections import API_KEYS
from kserver.services.security.search import Fields, to_filter
from kserver.storage.filters import And, Eq
from kserver.storage.port import DuplicateKey, Engine
from kserver.wire.catalog import kerror

_FIELDS = Fields(prefix="", only=frozenset({"description", "expiresAt", "ttl", "fingerprint", "userId"}))


class ApiKeys:
    def __init__(self, engine: Engine, tokens: Tokens) -> None:
        self.engine = engine
        self.tokens = tokens

    async def create(
        self,
        kuid: str,
        description: str,
        *,
        expires_in: object,
        key_id: str | None,
        creator: str,
        durable: bool,
        max_ttl: int = INFINITE,
    ) -> dict[str, Any]:
        """A new key (the token is shown only in this result); raises document_already_exists."""
        ttl = INFINITE if expires_in is None else parse_timespan(expires_in)
        check_max_ttl(ttl, max_ttl)
        token, expires_at = self.tokens.sign(kuid, ttl, API_KEY_PREFIX)
        token_id = fingerprint(token)
        key_id = key_id or token_id
        stamp = now_ms()
        source: dict[str, Any] = {
            "userId": kuid,
            "description": description,
            "expiresAt": expires_at,
            "ttl": ttl,
            "fingerprint": token_id,
            "_kuzzle_info": {"author": creator, "createdAt": stamp, "updatedAt": None, "updater": None},
        }
        try:
            await self.engine.create(API_KEYS, key_id, source, durable=durable)
        except DuplicateKey:
            raise kerror("services.storage.document_already_exists") from None
        try:
            await self.tokens.record(TokenInfo(token_id, token, kuid, "apiKey", expires_at, ttl))
        except BaseException:
            await self.engine.delete(API_KEYS, key_id, durable=False)
            raise
        return {"_id": key_id, "_source": {**source, "token": token}}

    async def search(self, kuid: str, query: Any, *, offset: int, limit: int) -> dict[str, Any]:
        """The user's keys matching ``query`` (without tokens); total = page length, as Kuzzle."""
        page = await self.engine.search(
            API_KEYS, And((Eq("userId", kuid), to_filter(query, _FIELDS))), offset=offset, limit=limit
        )
        hits = [{"_id": doc.id, "_source": doc.source} for doc in page.hits]
        return {"hits": hits, "total": len(hits)}

    async def delete(self, kuid: str, key_id: str, *, durable: bool) -> dict[str, str]:
        """Revoke and delete one of ``kuid``'s keys; another user's key is services.storage.not_found."""
        doc = await self.engine.get(API_KEYS, key_id)
        if doc is None or doc.source.get("userId") != kuid:
            raise kerror("services.storage.not_found", key_id, "%kuzzle", "api-keys")
        await self.tokens.revoke_id(str(doc.source["fingerprint"]))
        await self.engine.delete(API_KEYS, key_id, durable=durable)
        return {"_id": key_id}

    async def delete_user(self, kuid: str) -> None:
        """Every key of a deleted user (its TOKENS records go with the user's tokens)."""
        await self.engine.delete_matching(API_KEYS, Eq("userId", kuid), durable=True)
