"""The ``auth`` controller: login, tokens, the caller's own credentials, rights and API keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kserver.controllers.auth_session import send_token, token_cookie, wants_cookie
from kserver.services.auth.api_keys import ApiKeys
from kserver.services.auth.credentials import Credentials
from kserver.services.auth.expiry import ExpiryWatch
from kserver.services.auth.gate import RightsPort
from kserver.services.auth.login import Login
from kserver.services.auth.tokens import TokenInfo, Tokens
from kserver.services.collections import USERS
from kserver.services.strategy import Strategies
from kserver.storage.port import Engine
from kserver.wire.catalog import KuzzleError, kerror
from kserver.wire.context import ANONYMOUS_KUID, Context
from kserver.wire.envelope import Answer
from kserver.wire.request import Refresh, Request

# (kuid, partial content, refresh, retryOnConflict) -> {_id, _source}; provided by the users service
SelfUpdater = Callable[[str, dict[str, Any], Refresh, int], Awaitable[dict[str, Any]]]

ANONYMOUS_SOURCE = {"name": "Anonymous", "profileIds": ["anonymous"]}


def _kuid(request: Request, context: Context) -> str:
    """The caller's kuid; anonymous callers get security.rights.unauthorized."""
    if context.caller.anonymous:
        raise kerror("security.rights.unauthorized", request.controller, request.action)
    return context.caller.kuid


def _token(context: Context) -> TokenInfo | None:
    token = context.caller.token
    return token if isinstance(token, TokenInfo) else None


class AuthController:
    def __init__(
        self,
        *,
        engine: Engine,
        tokens: Tokens,
        login: Login,
        credentials: Credentials,
        api_keys: ApiKeys,
        strategies: Strategies,
        watch: ExpiryWatch,
        rights: RightsPort | None,
        update_self: SelfUpdater | None,
    ) -> None:
        self.engine = engine
        self.tokens = tokens
        self.login_service = login
        self.credentials = credentials
        self.api_keys = api_keys
        self.strategies = strategies
        self.watch = watch
        self.rights = rights
        self.update_self_fn = update_self

    # ---- sessions -----------------------------------------------------------------------
    async def login(self, request: Request, context: Context) -> Any:
        strategy = request.string("strategy")
        ttl = self.tokens.ttl_for(request.args.get("expiresIn"))
        kuid = await self.login_service.authenticate(strategy, request.body, context.connection.address)
        info = await self.tokens.issue(kuid, ttl)
        self.watch.link(info, context.connection)
        return send_token(info, request)

    async def logout(self, request: Request, context: Context) -> Any:
        cookie = wants_cookie(request)
        if not cookie:
            _kuid(request, context)
        self.watch.unlink(context.connection)
        token = _token(context)
        if not context.caller.anonymous:
            if request.boolean("global"):
                await self.tokens.revoke_user(context.caller.kuid)
            elif token is not None and token.kind == "auth":
                await self.tokens.revoke(token)
        result = {"acknowledged": True}
        if cookie:
            return Answer(result, http_headers={"Set-Cookie": token_cookie(None, None)})
        return result

    async def check_token(self, request: Request, context: Context) -> dict[str, Any]:
        token = request.optional_body().get("token")
        if token is not None and not isinstance(token, str):
            raise kerror("api.assert.invalid_type", "body.token", "string")
        if not token:
            return {"valid": True, "kuid": ANONYMOUS_KUID, "expiresAt": None}
        try:
            info = await self.tokens.verify(token)
        except KuzzleError as error:
            if error.status == 401:
                return {"valid": False, "state": error.message}
            raise
        return {"valid": True, "kuid": info.kuid, "expiresAt": info.expires_at}

    async def refresh_token(self, request: Request, context: Context) -> Any:
        _kuid(request, context)
        token = _token(context)
        if token is None:
            raise kerror("security.token.invalid")
        fresh = await self.tokens.refresh(token, self.tokens.ttl_for(request.args.get("expiresIn")))
        self.watch.link(fresh, context.connection)
        return send_token(fresh, request)

    async def create_token(self, request: Request, context: Context) -> dict[str, Any]:
        kuid = _kuid(request, context)
        expires_in = request.args.get("expiresIn")
        if str(expires_in) == "-1":
            raise kerror("security.token.invalid_expiration", "cannot be infinite")
        single_use = request.boolean("singleUse")
        info = await self.tokens.issue(kuid, self.tokens.ttl_for(expires_in), single_use=single_use)
        return {"token": info.jwt, "expiresAt": info.expires_at, "ttl": info.ttl, "singleUse": single_use}

    # ---- the caller ---------------------------------------------------------------------
    async def get_current_user(self, request: Request, context: Context) -> dict[str, Any]:
        caller = context.caller
        if caller.anonymous:
            return {"_id": ANONYMOUS_KUID, "_source": dict(ANONYMOUS_SOURCE), "strategies": []}
        user = await self.engine.get(USERS, caller.kuid)
        if user is None:
            raise kerror("security.user.not_found", caller.kuid)
        credentials = user.source.get("credentials") or {}
        strategies = [name for name in self.strategies.names() if isinstance(credentials.get(name), dict)]
        return {"_id": user.id, "_source": user.source.get("content", {}), "strategies": strategies}

    async def get_my_rights(self, request: Request, context: Context) -> dict[str, Any]:
        if self.rights is None:
            hits = [{"controller": "*", "action": "*", "index": "*", "collection": "*", "value": "allowed"}]
        else:
            hits = await self.rights.listing(context.caller.profile_ids)
        return {"hits": hits, "total": len(hits)}

    async def check_rights(self, request: Request, context: Context) -> dict[str, bool]:
        body = request.body_object()
        controller, action = body.get("controller"), body.get("action")
        if not isinstance(controller, str):
            raise kerror("api.assert.missing_argument", "body.controller")
        if not isinstance(action, str):
            raise kerror("api.assert.missing_argument", "body.action")
        if self.rights is None:
            return {"allowed": True}
        allowed = await self.rights.allowed(context.caller.profile_ids, controller, action, body)
        return {"allowed": allowed}

    async def update_self(self, request: Request, context: Context) -> dict[str, Any]:
        kuid = _kuid(request, context)
        body = request.body_object()
        for forbidden in ("_id", "profileIds"):
            if forbidden in body:
                raise kerror("api.assert.forbidden_argument", f"body.{forbidden}")
        if self.update_self_fn is None:
            raise kerror("api.process.action_not_found", "auth", "updateSelf")
        return await self.update_self_fn(kuid, body, request.refresh("wait_for"), request.retry_on_conflict())

    async def get_strategies(self, request: Request, context: Context) -> list[str]:
        return self.strategies.names()

    # ---- the caller's credentials -------------------------------------------------------
    async def create_my_credentials(self, request: Request, context: Context) -> dict[str, Any]:
        kuid = _kuid(request, context)
        return await self.credentials.create(request.string("strategy"), kuid, request.body_object())

    async def update_my_credentials(self, request: Request, context: Context) -> dict[str, Any]:
        kuid = _kuid(request, context)
        token = _token(context)
        keep = token.id if token is not None and token.kind == "auth" else None
        return await self.credentials.update(
            request.string("strategy"), kuid, request.body_object(), keep=keep
        )

    async def validate_my_credentials(self, request: Request, context: Context) -> bool:
        kuid = _kuid(request, context)
        return await self.credentials.validate(request.string("strategy"), kuid, request.body_object())

    async def delete_my_credentials(self, request: Request, context: Context) -> dict[str, bool]:
        kuid = _kuid(request, context)
        await self.credentials.delete(request.string("strategy"), kuid)
        return {"acknowledged": True}

    async def get_my_credentials(self, request: Request, context: Context) -> dict[str, Any]:
        kuid = _kuid(request, context)
        return await self.credentials.info(request.string("strategy"), kuid)

    async def credentials_exist(self, request: Request, context: Context) -> bool:
        kuid = _kuid(request, context)
        return await self.credentials.exists(request.string("strategy"), kuid)

    # ---- the caller's API keys ----------------------------------------------------------
    async def create_api_key(self, request: Request, context: Context) -> dict[str, Any]:
        kuid = _kuid(request, context)
        return await self.api_keys.create(
            kuid,
            request.body_field_string("description"),
            expires_in=request.args.get("expiresIn"),
            key_id=request.optional_id(),
            creator=kuid,
            durable=request.refresh("wait_for") == "wait_for",
        )

    async def search_api_keys(self, request: Request, context: Context) -> dict[str, Any]:
        kuid = _kuid(request, context)
        return await self.api_keys.search(
            kuid, search_query(request), offset=request.integer("from", 0), limit=request.integer("size", 10)
        )

    async def delete_api_key(self, request: Request, context: Context) -> dict[str, str]:
        kuid = _kuid(request, context)
        return await self.api_keys.delete(kuid, request.id(), durable=request.refresh("false") == "wait_for")

    def actions(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "logout": self.logout,
            "checkToken": self.check_token,
            "refreshToken": self.refresh_token,
            "createToken": self.create_token,
            "getCurrentUser": self.get_current_user,
            "getMyRights": self.get_my_rights,
            "checkRights": self.check_rights,
            "updateSelf": self.update_self,
            "getStrategies": self.get_strategies,
            "createMyCredentials": self.create_my_credentials,
            "updateMyCredentials": self.update_my_credentials,
            "validateMyCredentials": self.validate_my_credentials,
            "deleteMyCredentials": self.delete_my_credentials,
            "getMyCredentials": self.get_my_credentials,
            "credentialsExist": self.credentials_exist,
            "createApiKey": self.create_api_key,
            "searchApiKeys": self.search_api_keys,
            "deleteApiKey": self.delete_api_key,
        }


def search_query(request: Request) -> Any:
    """The ``query`` of a search body (Elasticsearch syntax only)."""
    lang = request.optional_string("lang", "elasticsearch")
    if lang != "elasticsearch":
        raise kerror(
            "api.assert.invalid_argument", "lang", '"elasticsearch" (koncorde is not supported here)'
        )
    return request.optional_body().get("query")
