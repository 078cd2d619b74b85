"""The ``security`` controller's credential, token-revocation and API-key actions (admin side)."""

from __future__ import annotations

from typing import Any

from kserver.controllers.auth import search_query
from kserver.services.auth.api_keys import ApiKeys
from kserver.services.auth.credentials import Credentials
from kserver.services.auth.tokens import Tokens
from kserver.services.collections import USERS
from kserver.services.strategy import Strategies
from kserver.storage.port import Engine
from kserver.wire.catalog import kerror
from kserver.wire.context import Context
from kserver.wire.request import Request


class SecurityCredentialsController:
    def __init__(
        self,
        *,
        engine: Engine,
        tokens: Tokens,
        credentials: Credentials,
        api_keys: ApiKeys,
        strategies: Strategies,
    ) -> None:
        self.engine = engine
        self.tokens = tokens
        self.credentials = credentials
        self.api_keys = api_keys
        self.strategies = strategies

    async def create_credentials(self, request: Request, context: Context) -> dict[str, Any]:
        return await self.credentials.create(request.string("strategy"), request.id(), request.body_object())

    async def update_credentials(self, request: Request, context: Context) -> dict[str, Any]:
        return await self.credentials.update(request.string("strategy"), request.id(), request.body_object())

    async def delete_credentials(self, request: Request, context: Context) -> dict[str, bool]:
        await self.credentials.delete(request.string("strategy"), request.id())
        return {"acknowledged": True}

    async def has_credentials(self, request: Request, context: Context) -> bool:
        return await self.credentials.exists(request.string("strategy"), request.id())

    async def validate_credentials(self, request: Request, context: Context) -> bool:
        return await self.credentials.validate(
            request.string("strategy"), request.optional_id(), request.body_object()
        )

    async def get_credentials(self, request: Request, context: Context) -> dict[str, Any]:
        return await self.credentials.info(request.string("strategy"), request.id())

    async def get_credentials_by_id(self, request: Request, context: Context) -> dict[str, Any]:
        return await self.credentials.info_by_login(request.string("strategy"), request.id())

    async def search_users_by_credentials(self, request: Request, context: Context) -> dict[str, Any]:
        return await self.credentials.search(
            request.string("strategy"),
            {**request.optional_body(), "query": search_query(request)},
            offset=request.integer("from", 0),
            limit=request.integer("size", 10),
        )

    async def get_credential_fields(self, request: Request, context: Context) -> list[str]:
        return list(self.strategies.get(request.string("strategy")).fields)

    async def get_all_credential_fields(self, request: Request, context: Context) -> dict[str, list[str]]:
        return {name: list(self.strategies.get(name).fields) for name in self.strategies.names()}

    async def revoke_tokens(self, request: Request, context: Context) -> None:
        await self.tokens.revoke_user(request.id())
        return None

    async def create_api_key(self, request: Request, context: Context) -> dict[str, Any]:
        user_id = request.string("userId")
        if await self.engine.get(USERS, user_id) is None:
            raise kerror("security.user.not_found", user_id)
        return await self.api_keys.create(
            user_id,
            request.body_field_string("description"),
            expires_in=request.args.get("expiresIn"),
            key_id=request.optional_id(),
            creator=context.caller.kuid,
            durable=request.refresh("wait_for") == "wait_for",
        )

    async def search_api_keys(self, request: Request, context: Context) -> dict[str, Any]:
        return await self.api_keys.search(
            request.string("userId"),
            search_query(request),
            offset=request.integer("from", 0),
            limit=request.integer("size", 10),
        )

    async def delete_api_key(self, request: Request, context: Context) -> dict[str, str]:
        return await self.api_keys.delete(
            request.string("userId"), request.id(), durable=request.refresh("wait_for") == "wait_for"
        )

    def actions(self) -> dict[str, Any]:
        return {
            "createCredentials": self.create_credentials,
            "updateCredentials": self.update_credentials,
            "deleteCredentials": self.delete_credentials,
            "hasCredentials": self.has_credentials,
            "validateCredentials": self.validate_credentials,
            "getCredentials": self.get_credentials,
            "getCredentialsById": self.get_credentials_by_id,
            "searchUsersByCredentials": self.search_users_by_credentials,
            "getCredentialFields": self.get_credential_fields,
            "getAllCredentialFields": self.get_all_credential_fields,
            "revokeTokens": self.revoke_tokens,
            "createApiKey": self.create_api_key,
            "searchApiKeys": self.search_api_keys,
            "deleteApiKey": self.delete_api_key,
        }
