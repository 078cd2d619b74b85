"""The ``security`` controller (users, roles, profiles, rights, mappings) and ``admin:resetSecurity``.

Thin handlers: typed arguments in, one service call, ``{_id, _source}`` shapes
out. Credentials, API keys and token actions belong to the auth controllers.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from kserver.services.collections import PROFILES, USERS, public_source
from kserver.services.security.bootstrap import SecurityBootstrap
from kserver.services.security.mappings import Kind, Mappings
from kserver.services.security.paging import Page, Pager
from kserver.services.security.profiles import Profiles
from kserver.services.security.queries import build_query
from kserver.services.security.rights import Rights
from kserver.services.security.roles import Roles
from kserver.services.security.scrolls import scroll_ttl_ms
from kserver.services.security.search import Fields
from kserver.services.security.users import IdKind, Users
from kserver.wire.catalog import KuzzleError, kerror
from kserver.wire.context import Context
from kserver.wire.request import JsonObject, Request

USER_FIELDS = Fields("content.")
ROLE_FIELDS = Fields("content.")
PROFILE_FIELDS = Fields("content.", {"policies.roleId": "roleIds"})
SECURITY_COLLECTIONS = ("users", "profiles", "roles")


@dataclass(frozen=True, slots=True)
class SecurityServices:
    users: Users
    roles: Roles
    profiles: Profiles
    rights: Rights
    bootstrap: SecurityBootstrap
    pager: Pager
    mappings: Mappings
    restricted_profile_ids: tuple[str, ...]
    write_limit: int


class _RoleWrite(Protocol):
    """``Roles.create``, ``create_or_replace`` or ``replace`` (its ``retries`` already bound)."""

    def __call__(
        self, role_id: str, body: dict[str, Any], *, force: bool, author: str | None, durable: bool
    ) -> Awaitable[dict[str, Any]]: ...


def _hit(id: str, source: dict[str, Any]) -> dict[str, Any]:
    return {"_id": id, "_source": source}


def _durable(request: Request) -> bool:
    return request.refresh() == "wait_for"


def _id_kind(request: Request) -> IdKind:
    return "uuid" if request.optional_string("kuid", "human") == "uuid" else "human"


def _string_array(value: Any, name: str, *, required: bool) -> list[str] | None:
    if value is None:
        if required:
            raise kerror("api.assert.missing_argument", name)
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise kerror("api.assert.invalid_type", name, "string[]")
    if not value:
        raise kerror("api.assert.empty_argument", name)
    return value


def _no_profile_ids(content: JsonObject) -> JsonObject:
    if "profileIds" in content:
        raise kerror("api.assert.forbidden_argument", "body.content.profileIds")
    return content


def _credentials(request: Request) -> dict[str, Any]:
    return request.body_field_object("credentials", required=False) or {}


def _search_body(request: Request) -> JsonObject:
    """The body, or over HTTP GET the JSON ``searchBody`` argument."""
    raw = request.args.get("searchBody")
    if request.body is None and isinstance(raw, str):
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise kerror("api.assert.invalid_type", "searchBody", "JSON object") from None
        if not isinstance(body, dict):
            raise kerror("api.assert.invalid_type", "searchBody", "JSON object")
        return body
    return request.optional_body()


def _lang(request: Request) -> str:
    return request.optional_string("lang", "elasticsearch") or "elasticsearch"


def _scroll(request: Request) -> int | None:
    value = request.args.get("scroll")
    return None if value is None or value == "" else scroll_ttl_ms(value)


async def _m_delete(ids: Sequence[str], limit: int, delete: Callable[[str], Awaitable[None]]) -> list[str]:
    """Delete concurrently; a partial failure raises services.storage.incomplete_delete (206)."""
    if len(ids) > limit:
        raise kerror("services.storage.write_limit_exceeded")
    done: list[str] = []
    errors: list[KuzzleError] = []

    async def one(item: str) -> None:
        try:
            await delete(item)
        except KuzzleError as error:
            errors.append(error)
        else:
            done.append(item)

    await asyncio.gather(*(one(item) for item in ids))
    if errors:
        messages = "; ".join(error.message for error in errors)
        raise kerror(
            "services.storage.incomplete_delete",
            messages,
            errors=[error.to_json() for error in errors],
            result=done,  # Kuzzle answers 206 with the ids that were deleted
        )
    return done


class SecurityController:
    def __init__(self, services: SecurityServices) -> None:
        self.s = services

    # ---- users --------------------------------------------------------------------------
    async def create_user(self, request: Request, context: Context) -> dict[str, Any]:
        content = request.body_field_object("content")
        assert content is not None
        profile_ids = _string_array(content.get("profileIds"), "body.content.profileIds", required=True)
        assert profile_ids is not None
        return await self._create(request, context, content, profile_ids)

    async def create_restricted_user(self, request: Request, context: Context) -> dict[str, Any]:
        content = _no_profile_ids(request.body_field_object("content", required=False) or {})
        return await self._create(request, context, content, list(self.s.restricted_profile_ids))

    async def _create(
        self, request: Request, context: Context, content: JsonObject, profile_ids: list[str]
    ) -> dict[str, Any]:
        body = {k: v for k, v in content.items() if k != "profileIds"}
        kuid, source = await self.s.users.create(
            request.optional_id(),
            body,
            profile_ids,
            credentials=_credentials(request),
            author=context.caller.kuid,
            durable=_durable(request),
            id_kind=_id_kind(request),
        )
        return _hit(kuid, source)

    async def create_first_admin(self, request: Request, context: Context) -> dict[str, Any]:
        content = _no_profile_ids(request.body_field_object("content", required=False) or {})
        kuid, source = await self.s.bootstrap.create_first_admin(
            request.optional_id(),
            content,
            credentials=_credentials(request),
            reset=request.boolean("reset"),
            author=context.caller.kuid,
            durable=_durable(request),
            id_kind=_id_kind(request),
        )
        return _hit(kuid, source)

    async def restrict_default_rights(self, request: Request, context: Context) -> None:
        await self.s.bootstrap.restrict_default_rights(context.caller.kuid)

    async def get_user(self, request: Request, context: Context) -> dict[str, Any]:
        return _hit(*await self.s.users.get(request.id()))

    async def m_get_users(self, request: Request, context: Context) -> dict[str, Any]:
        body_ids = request.optional_body().get("ids")
        if body_ids:
            ids = _string_array(body_ids, "body.ids", required=True) or []
        else:
            ids = request.string_list("ids")
        return {"hits": [_hit(*user) for user in await self.s.users.mget(ids)]}

    async def update_user(self, request: Request, context: Context) -> dict[str, Any]:
        kuid, body = request.id(), request.body_object()
        profile_ids = _string_array(body.get("profileIds"), "body.profileIds", required=False)
        request.retry_on_conflict()  # validated; per-field writes need no retry
        source = await self.s.users.update(
            kuid, body, profile_ids, updater=context.caller.kuid, durable=_durable(request)
        )
        return _hit(kuid, source)

    async def replace_user(self, request: Request, context: Context) -> dict[str, Any]:
        kuid, body = request.id(), request.body_object()
        profile_ids = _string_array(body.get("profileIds"), "body.profileIds", required=True)
        assert profile_ids is not None
        source = await self.s.users.replace(
            kuid,
            body,
            profile_ids,
            updater=context.caller.kuid,
            durable=_durable(request),
            retries=request.retry_on_conflict(),
        )
        return _hit(kuid, source)

    async def delete_user(self, request: Request, context: Context) -> dict[str, str]:
        kuid = request.id()
        await self.s.users.delete(kuid, durable=_durable(request), author=context.caller.kuid)
        return {"_id": kuid}

    async def m_delete_users(self, request: Request, context: Context) -> list[str]:
        ids = _string_array(request.body_field_array("ids"), "body.ids", required=True) or []
        durable = _durable(request)

        async def delete(kuid: str) -> None:
            await self.s.users.delete(kuid, durable=durable, author=context.caller.kuid)

        return await _m_delete(ids, self.s.write_limit, delete)

    async def search_users(self, request: Request, context: Context) -> dict[str, Any]:
        page = await self._search(request, USERS, USER_FIELDS, _search_body(request), _lang(request))
        return self._users_page(page)

    async def scroll_users(self, request: Request, context: Context) -> dict[str, Any]:
        page = await self.s.pager.scroll(USERS, request.string("scrollId"), _scroll(request))
        return self._users_page(page)

    def _users_page(self, page: Page) -> dict[str, Any]:
        result: dict[str, Any] = {
            "hits": [_hit(doc.id, public_source(doc)) for doc in page.hits],
            "total": page.total,
        }
        if page.scroll_id is not None:
            result["scrollId"] = page.scroll_id
        return result

    async def _search(
        self, request: Request, collection: str, fields: Fields, body: JsonObject, lang: str
    ) -> Page:
        size = request.integer("size", self.s.pager.fetch_limit)
        self.s.pager.check_size(size)
        query = build_query(body, lang, fields)
        return await self.s.pager.search(
            collection, query, offset=request.integer("from", 0), size=size, scroll_ms=_scroll(request)
        )

    async def get_user_strategies(self, request: Request, context: Context) -> dict[str, Any]:
        strategies = await self.s.users.strategies_of(request.id())
        return {"strategies": strategies, "total": len(strategies)}

    async def get_user_rights(self, request: Request, context: Context) -> dict[str, Any]:
        profile_ids = await self.s.users.profile_ids(request.id())
        hits = await self.s.rights.listing(profile_ids)
        return {"hits": hits, "total": len(hits)}

    async def check_rights(self, request: Request, context: Context) -> dict[str, bool]:
        kuid = request.string("userId")
        payload = request.body_object()
        if not isinstance(payload.get("controller"), str):
            raise kerror("api.assert.missing_argument", "body.controller")
        if not isinstance(payload.get("action"), str):
            raise kerror("api.assert.missing_argument", "body.action")
        profile_ids = await self.s.users.profile_ids(kuid)
        allowed = await self.s.rights.allowed(profile_ids, payload["controller"], payload["action"], payload)
        return {"allowed": allowed}

    # ---- roles --------------------------------------------------------------------------
    async def create_role(self, request: Request, context: Context) -> dict[str, Any]:
        return await self._write_role(request, context, self.s.roles.create)

    async def create_or_replace_role(self, request: Request, context: Context) -> dict[str, Any]:
        return await self._write_role(request, context, self.s.roles.create_or_replace)

    async def update_role(self, request: Request, context: Context) -> dict[str, Any]:
        replace = functools.partial(self.s.roles.replace, retries=request.retry_on_conflict())
        return await self._write_role(request, context, replace)

    @staticmethod
    async def _write_role(request: Request, context: Context, write: _RoleWrite) -> dict[str, Any]:
        role_id = request.id()
        source = await write(
            role_id,
            request.body_object(),
            force=request.boolean("force"),
            author=context.caller.kuid,
            durable=_durable(request),
        )
        return _hit(role_id, source)

    async def get_role(self, request: Request, context: Context) -> dict[str, Any]:
        role_id = request.id()
        return _hit(role_id, await self.s.roles.get(role_id))

    async def m_get_roles(self, request: Request, context: Context) -> dict[str, Any]:
        ids = _string_array(request.body_field_array("ids"), "body.ids", required=True) or []
        return {"hits": [_hit(*role) for role in await self.s.roles.mget(ids)]}

    async def delete_role(self, request: Request, context: Context) -> dict[str, str]:
        role_id = request.id()
        await self.s.roles.delete(role_id, durable=_durable(request))
        return {"_id": role_id}

    async def m_delete_roles(self, request: Request, context: Context) -> list[str]:
        ids = _string_array(request.body_field_array("ids"), "body.ids", required=True) or []
        durable = _durable(request)

        async def delete(role_id: str) -> None:
            await self.s.roles.delete(role_id, durable=durable)

        return await _m_delete(ids, self.s.write_limit, delete)

    async def search_roles(self, request: Request, context: Context) -> dict[str, Any]:
        body = _search_body(request)
        raw = body.get("controllers")
        if raw is not None and body.get("query") is not None:
            raise kerror("api.assert.mutually_exclusive", "controllers", "query")
        if raw is not None and (not isinstance(raw, list) or not all(isinstance(c, str) for c in raw)):
            raise kerror("api.assert.invalid_type", "body.controllers", "string[]")
        size = request.integer("size", self.s.pager.fetch_limit)
        self.s.pager.check_size(size)
        query = build_query({"query": body.get("query")}, _lang(request), ROLE_FIELDS)
        page = await self.s.roles.search(
            query.filter, controllers=raw, offset=request.integer("from", 0), limit=size
        )
        return {
            "hits": [_hit(doc.id, doc.source.get("content", {})) for doc in page.hits],
            "total": page.total,
        }

    # ---- profiles -----------------------------------------------------------------------
    async def create_profile(self, request: Request, context: Context) -> dict[str, Any]:
        profile_id, body = request.id(), request.body_object()
        request.body_field_array("policies")
        source = await self.s.profiles.create(
            profile_id, body, author=context.caller.kuid, durable=_durable(request)
        )
        return _hit(profile_id, source)

    async def create_or_replace_profile(self, request: Request, context: Context) -> dict[str, Any]:
        profile_id, body = request.id(), request.body_object()
        request.body_field_array("policies")
        source = await self.s.profiles.create_or_replace(
            profile_id, body, author=context.caller.kuid, durable=_durable(request)
        )
        return _hit(profile_id, source)

    async def update_profile(self, request: Request, context: Context) -> dict[str, Any]:
        profile_id = request.id()
        source = await self.s.profiles.update(
            profile_id,
            request.body_object(),
            updater=context.caller.kuid,
            durable=_durable(request),
            retries=request.retry_on_conflict(),
        )
        return _hit(profile_id, source)

    async def get_profile(self, request: Request, context: Context) -> dict[str, Any]:
        profile_id = request.id()
        return _hit(profile_id, await self.s.profiles.get(profile_id))

    async def m_get_profiles(self, request: Request, context: Context) -> dict[str, Any]:
        ids = _string_array(request.body_field_array("ids"), "body.ids", required=True) or []
        return {"hits": [_hit(*profile) for profile in await self.s.profiles.mget(ids)]}

    async def delete_profile(self, request: Request, context: Context) -> dict[str, str]:
        profile_id = request.id()
        mode = request.optional_string("onAssignedUsers", "fail") or "fail"
        if mode not in ("fail", "remove"):
            raise kerror("api.assert.invalid_argument", "onAssignedUsers", '"fail" or "remove"')
        await self.s.profiles.delete(
            profile_id,
            holders=self.s.users,
            on_assigned_users="remove" if mode == "remove" else "fail",
            updater=context.caller.kuid,
            durable=_durable(request),
        )
        return {"_id": profile_id}

    async def m_delete_profiles(self, request: Request, context: Context) -> list[str]:
        ids = _string_array(request.body_field_array("ids"), "body.ids", required=True) or []
        durable = _durable(request)

        async def delete(profile_id: str) -> None:
            await self.s.profiles.delete(
                profile_id,
                holders=self.s.users,
                on_assigned_users="fail",
                updater=context.caller.kuid,
                durable=durable,
            )

        return await _m_delete(ids, self.s.write_limit, delete)

    async def search_profiles(self, request: Request, context: Context) -> dict[str, Any]:
        body = dict(_search_body(request))
        roles = body.pop("roles", None)
        lang = _lang(request)
        if roles is not None:
            if body.get("query") is not None:
                raise kerror("api.assert.mutually_exclusive", "roles", "query")
            if not isinstance(roles, list):
                raise kerror("api.assert.invalid_type", "body.roles", "array")
            body["query"] = {"terms": {"policies.roleId": roles}} if roles else {"match_all": {}}
            lang = "elasticsearch"
        return self._profiles_page(await self._search(request, PROFILES, PROFILE_FIELDS, body, lang))

    async def scroll_profiles(self, request: Request, context: Context) -> dict[str, Any]:
        page = await self.s.pager.scroll(PROFILES, request.string("scrollId"), _scroll(request))
        return self._profiles_page(page)

    def _profiles_page(self, page: Page) -> dict[str, Any]:
        result: dict[str, Any] = {
            "hits": [_hit(doc.id, doc.source.get("content", {})) for doc in page.hits],
            "total": page.total,
        }
        if page.scroll_id is not None:
            result["scrollId"] = page.scroll_id
        return result

    async def get_profile_rights(self, request: Request, context: Context) -> dict[str, Any]:
        hits = await self.s.rights.listing([request.id()])
        return {"hits": hits, "total": len(hits)}

    # ---- mappings, refresh, reset ---------------------------------------------------------
    async def _get_mapping(self, kind: Kind) -> dict[str, Any]:
        return {"mapping": await self.s.mappings.get(kind)}

    async def get_user_mapping(self, request: Request, context: Context) -> dict[str, Any]:
        return await self._get_mapping("users")

    async def get_profile_mapping(self, request: Request, context: Context) -> dict[str, Any]:
        return await self._get_mapping("profiles")

    async def get_role_mapping(self, request: Request, context: Context) -> dict[str, Any]:
        return await self._get_mapping("roles")

    async def update_user_mapping(self, request: Request, context: Context) -> dict[str, Any]:
        return {"properties": await self.s.mappings.update("users", request.body_object())}

    async def update_profile_mapping(self, request: Request, context: Context) -> dict[str, Any]:
        return {"properties": await self.s.mappings.update("profiles", request.body_object())}

    async def update_role_mapping(self, request: Request, context: Context) -> dict[str, Any]:
        return {"properties": await self.s.mappings.update("roles", request.body_object())}

    async def refresh(self, request: Request, context: Context) -> None:
        """Writes are visible at once here: only the argument is checked."""
        collection = request.string("collection")
        if collection not in SECURITY_COLLECTIONS:
            raise kerror("api.assert.unexpected_argument", collection, ", ".join(SECURITY_COLLECTIONS))

    async def reset_security(self, request: Request, context: Context) -> dict[str, int]:
        return await self.s.bootstrap.reset_security()

    def actions(self) -> dict[str, Any]:
        return {
            "createUser": self.create_user,
            "createRestrictedUser": self.create_restricted_user,
            "createFirstAdmin": self.create_first_admin,
            "restrictDefaultRights": self.restrict_default_rights,
            "getUser": self.get_user,
            "mGetUsers": self.m_get_users,
            "updateUser": self.update_user,
            "replaceUser": self.replace_user,
            "deleteUser": self.delete_user,
            "mDeleteUsers": self.m_delete_users,
            "searchUsers": self.search_users,
            "scrollUsers": self.scroll_users,
            "getUserStrategies": self.get_user_strategies,
            "getUserRights": self.get_user_rights,
            "checkRights": self.check_rights,
            "getUserMapping": self.get_user_mapping,
            "updateUserMapping": self.update_user_mapping,
            "createRole": self.create_role,
            "createOrReplaceRole": self.create_or_replace_role,
            "getRole": self.get_role,
            "mGetRoles": self.m_get_roles,
            "updateRole": self.update_role,
            "deleteRole": self.delete_role,
            "mDeleteRoles": self.m_delete_roles,
            "searchRoles": self.search_roles,
            "getRoleMapping": self.get_role_mapping,
            "updateRoleMapping": self.update_role_mapping,
            "createProfile": self.create_profile,
            "createOrReplaceProfile": self.create_or_replace_profile,
            "getProfile": self.get_profile,
            "mGetProfiles": self.m_get_profiles,
            "updateProfile": self.update_profile,
            "deleteProfile": self.delete_profile,
            "mDeleteProfiles": self.m_delete_profiles,
            "searchProfiles": self.search_profiles,
            "scrollProfiles": self.scroll_profiles,
            "getProfileRights": self.get_profile_rights,
            "getProfileMapping": self.get_profile_mapping,
            "updateProfileMapping": self.update_profile_mapping,
            "refresh": self.refresh,
        }

    def admin_actions(self) -> dict[str, Any]:
        return {"resetSecurity": self.reset_security}
