"""Roles: controller/action rights, validated as Kuzzle does, cached for the rights check.

Stored layout (collection ``roles``): ``{"content": {controllers, ...extra,
_kuzzle_info}, "controllerNames": [...]}``; ``content`` is the role's ``_source``
and ``controllerNames`` (the keys of ``controllers``) lets searches and in-use
checks run in the store.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from kserver.services.collections import PROFILES, ROLES
from kserver.services.epoch import Epoch
from kserver.services.security.cache import TtlCache
from kserver.services.security.metadata import INFO, created_info, updated_info, without_reserved
from kserver.storage.filters import MATCH_ALL, Eq, Filter, In
from kserver.storage.port import DuplicateKey, Engine, SearchPage, StorageConflict, Stored
from kserver.wire.catalog import kerror

PROTECTED = frozenset({"admin", "default", "anonymous"})
CACHE_TTL = 5.0

Controllers = dict[str, Any]
KnownActions = Callable[[], Mapping[str, Collection[str]]]


def did_you_mean(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f'Did you mean "{close[0]}"?' if close else ""


def validate_controllers(role_id: str, body: dict[str, Any]) -> Controllers:
    """Kuzzle's structural checks of ``controllers``; raises api.assert.* errors."""
    controllers = body.get("controllers")
    if controllers is None:
        raise kerror("api.assert.missing_argument", f"{role_id}.controllers")
    if not isinstance(controllers, dict):
        raise kerror("api.assert.invalid_type", f"{role_id}.controllers", "object")
    if not controllers:
        raise kerror("api.assert.empty_argument", f"{role_id}.controllers")
    for name, rights in controllers.items():
        if not isinstance(rights, dict):
            raise kerror("api.assert.invalid_type", name, "object")
        if not rights:
            raise kerror("api.assert.empty_argument", name)
        if "actions" not in rights:
            raise kerror("api.assert.missing_argument", name)
        actions = rights["actions"]
        if not isinstance(actions, dict):
            raise kerror("api.assert.invalid_type", f"{name}.actions", "object")
        if not actions:
            raise kerror("api.assert.empty_argument", f"{name}.actions")
        for action, value in actions.items():
            if not isinstance(value, bool):
                raise kerror("api.assert.invalid_type", f"{name}.actions.{action}", "boolean")
    return controllers


def can_log_in(controllers: Controllers) -> bool:
    for controller in ("auth", "*"):
        actions = controllers.get(controller, {}).get("actions", {})
        if actions.get("login") is True or actions.get("*") is True:
            return True
    return False


def check_actions(
    role_id: str, controllers: Controllers, known: Mapping[str, Collection[str]], *, force: bool
) -> None:
    """Every action of a known controller must exist; unknown controllers need ``force``."""
    for controller, rights in controllers.items():
        actions = rights["actions"]
        if controller == "*":
            for action in actions:
                if action != "*":
                    raise kerror("security.role.unknown_action", role_id, action, "*", "")
            continue
        served = known.get(controller)
        if served is None:
            if not force:
                hint = did_you_mean(controller, known)
                raise kerror("security.role.unknown_controller", role_id, controller, hint)
            continue
        for action in actions:
            if action != "*" and action not in served:
                raise kerror(
                    "security.role.unknown_action", role_id, action, controller, did_you_mean(action, served)
                )


def role_allows(controllers: Mapping[str, Any], controller: str, action: str) -> bool:
    """Explicit controller key, else ``*``; explicit action key, else ``*``; only literal true grants."""
    rights = controllers.get(controller)
    if rights is None:
        rights = controllers.get("*")
    if not isinstance(rights, dict):
        return False
    actions = rights.get("actions")
    if not isinstance(actions, dict):
        return False
    value = actions[action] if action in actions else actions.get("*")
    return value is True


class Roles:
    def __init__(
        self,
        engine: Engine,
        known_actions: KnownActions,
        *,
        cache_ttl: float = CACHE_TTL,
        epoch: Epoch | None = None,
    ) -> None:
        self.engine = engine
        self._known = known_actions
        self._cache: TtlCache[dict[str, Any]] = TtlCache(cache_ttl, epoch=epoch)

    # ---- reads --------------------------------------------------------------------------
    async def find(self, role_id: str) -> dict[str, Any] | None:
        """The role's ``_source``, or None; served from the cache when fresh."""
        cached = self._cache.get(role_id)
        if cached is not None:
            return cached
        stored = await self.engine.get(ROLES, role_id)
        if stored is None:
            return None
        return self._remember(stored)

    async def get(self, role_id: str) -> dict[str, Any]:
        """Raises security.role.not_found."""
        role = await self.find(role_id)
        if role is None:
            raise kerror("security.role.not_found", role_id)
        return role

    async def mget(self, role_ids: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
        """All or nothing (Kuzzle): the first unknown id raises security.role.not_found."""
        return [(role_id, await self.get(role_id)) for role_id in role_ids]

    async def search(
        self, filter: Filter, *, controllers: list[str] | None, offset: int, limit: int
    ) -> SearchPage:
        """Roles matching ``filter``; with ``controllers``, those granting any of them or ``*``."""
        if controllers:
            filter = In("controllerNames", (*controllers, "*"))
        elif controllers is not None:
            filter = MATCH_ALL
        return await self.engine.search(ROLES, filter, sort=(), offset=offset, limit=limit)

    # ---- writes -------------------------------------------------------------------------
    def validate(self, role_id: str, body: dict[str, Any], *, force: bool) -> dict[str, Any]:
        """The role content to store (``_id``/``_kuzzle_info`` dropped); raises catalog errors."""
        content = without_reserved(body)
        controllers = validate_controllers(role_id, content)
        if role_id == "anonymous" and not can_log_in(controllers):
            raise kerror("security.role.login_required")
        check_actions(role_id, controllers, self._known(), force=force)
        return content

    async def create(
        self, role_id: str, body: dict[str, Any], *, force: bool, author: str | None, durable: bool
    ) -> dict[str, Any]:
        """Raises services.storage.document_already_exists if the role exists."""
        content = self.validate(role_id, body, force=force)
        try:
            stored = await self.engine.create(
                ROLES, role_id, _document(content, created_info(author)), durable=durable
            )
        except DuplicateKey:
            raise kerror("services.storage.document_already_exists") from None
        return self._remember(stored)

    async def ensure(self, role_id: str, body: dict[str, Any]) -> bool:
        """Create the role unless it exists (idempotent bootstrap, safe on several nodes); True if created."""
        content = self.validate(role_id, body, force=True)
        try:
            stored = await self.engine.create(
                ROLES, role_id, _document(content, created_info(None)), durable=True
            )
        except DuplicateKey:
            return False
        self._remember(stored)
        return True

    async def create_or_replace(
        self,
        role_id: str,
        body: dict[str, Any],
        *,
        force: bool,
        author: str | None,
        durable: bool,
        retries: int = 10,
    ) -> dict[str, Any]:
        content = self.validate(role_id, body, force=force)
        return await self._write(role_id, content, author, durable, retries, must_exist=False)

    async def replace(
        self,
        role_id: str,
        body: dict[str, Any],
        *,
        force: bool,
        author: str | None,
        durable: bool,
        retries: int,
    ) -> dict[str, Any]:
        """``updateRole``: a full replace of an existing role (Kuzzle), createdAt kept."""
        content = self.validate(role_id, body, force=force)
        return await self._write(role_id, content, author, durable, retries, must_exist=True)

    async def _write(
        self,
        role_id: str,
        content: dict[str, Any],
        author: str | None,
        durable: bool,
        retries: int,
        *,
        must_exist: bool,
    ) -> dict[str, Any]:
        for _ in range(retries + 1):
            current = await self.engine.get(ROLES, role_id)
            if current is None:
                if must_exist:
                    raise kerror("security.role.not_found", role_id)
                try:
                    stored = await self.engine.create(
                        ROLES, role_id, _document(content, created_info(author)), durable=durable
                    )
                except DuplicateKey:
                    continue
                return self._remember(stored)
            info = updated_info(current.source.get("content", {}).get(INFO), author)
            try:
                replaced = await self.engine.replace(
                    ROLES, role_id, _document(content, info), if_version=current.version, durable=durable
                )
            except StorageConflict:
                continue
            if replaced is not None:
                return self._remember(replaced)
        raise kerror("services.storage.too_many_changes", role_id)

    async def delete(self, role_id: str, *, durable: bool) -> None:
        """Raises security.role.cannot_delete (built-ins), not_found, in_use (a profile uses it)."""
        if role_id in PROTECTED:
            raise kerror("security.role.cannot_delete")
        await self.get(role_id)
        if await self.engine.count(PROFILES, Eq("roleIds", role_id)) > 0:
            raise kerror("security.role.in_use", role_id)
        deleted = await self.engine.delete(ROLES, role_id, durable=durable)
        self._cache.drop(role_id)
        if not deleted:
            raise kerror("security.role.not_found", role_id)

    @property
    def generation(self) -> int:
        """Changes whenever a cached entry is added, refreshed, dropped or expires."""
        return self._cache.generation

    def forget(self, role_id: str | None = None) -> None:
        """Drop one cached role (or all) after a write made outside this service."""
        if role_id is None:
            self._cache.clear()
        else:
            self._cache.drop(role_id)

    def _remember(self, stored: Stored) -> dict[str, Any]:
        content: dict[str, Any] = stored.source.get("content", {})
        self._cache.put(stored.id, content)
        return content


def _document(content: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    controllers = content.get("controllers", {})
    return {"content": {**content, INFO: info}, "controllerNames": sorted(controllers)}
