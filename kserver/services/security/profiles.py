"""Profiles: policies of roles (with ``restrictedTo``) and a rate limit, cached for the rights check.

Stored layout (collection ``profiles``): ``{"content": {policies, rateLimit,
...extra, _kuzzle_info}, "roleIds": [...]}``; ``content`` is the ``_source``,
``roleIds`` lets role in-use checks and ``policies.roleId`` searches run in the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from kserver.services.collections import PROFILES
from kserver.services.epoch import Epoch
from kserver.services.security.cache import TtlCache
from kserver.services.security.metadata import INFO, created_info, updated_info, without_reserved
from kserver.services.security.roles import CACHE_TTL, PROTECTED, Roles
from kserver.storage.filters import Filter
from kserver.storage.port import DuplicateKey, Engine, SearchPage, StorageConflict, Stored
from kserver.wire.catalog import kerror

OnAssignedUsers = Literal["fail", "remove"]


class ProfileHolders(Protocol):
    """The users side of a profile deletion (implemented by ``users.Users``)."""

    async def count_with_profile(self, profile_id: str) -> int: ...

    async def remove_profile(self, profile_id: str, *, updater: str | None, durable: bool) -> None: ...


def validate_policies(profile_id: str, content: dict[str, Any]) -> list[dict[str, Any]]:
    """Kuzzle's checks of ``policies`` and ``rateLimit``; fills Kuzzle's defaults in ``content``."""
    rate_limit = content.get("rateLimit")
    if rate_limit is None:
        content["rateLimit"] = 0
    elif (
        isinstance(rate_limit, bool)
        or not isinstance(rate_limit, int | float)
        or rate_limit != int(rate_limit)
    ):
        raise kerror("api.assert.invalid_type", "rateLimit", "integer")
    elif rate_limit < 0:
        raise kerror("api.assert.invalid_argument", "rateLimit", "positive integer, or zero")
    else:
        content["rateLimit"] = int(rate_limit)
    policies = content.get("policies")
    if policies is None:
        raise kerror("api.assert.missing_argument", f"{profile_id}.policies")
    if not isinstance(policies, list):
        raise kerror("api.assert.invalid_type", f"{profile_id}.policies", "object[]")
    if not policies:
        policies = content["policies"] = [{"roleId": "default"}]  # Kuzzle's silent default
    for i, policy in enumerate(policies):
        where = f"{profile_id}.policies[{i}]"
        if not isinstance(policy, dict):
            raise kerror("api.assert.invalid_type", where, "object")
        if not policy.get("roleId"):
            raise kerror("api.assert.missing_argument", f"{where}.roleId")
        if not isinstance(policy["roleId"], str):
            raise kerror("api.assert.invalid_type", f"{where}.roleId", "string")
        for member in policy:
            if member not in ("roleId", "restrictedTo"):
                raise kerror(
                    "api.assert.unexpected_argument", f"{where}.{member}", '"roleId", "restrictedTo"'
                )
        _validate_restrictions(where, policy.get("restrictedTo"))
    return policies


def _validate_restrictions(where: str, restricted: Any) -> None:
    if restricted is None:
        return
    if not isinstance(restricted, list):
        raise kerror("api.assert.invalid_type", f"{where}.restrictedTo", "object[]")
    for j, restriction in enumerate(restricted):
        at = f"{where}.restrictedTo[{j}]"
        if not isinstance(restriction, dict):
            raise kerror("api.assert.invalid_type", at, "object")
        if restriction.get("index") is None:
            raise kerror("api.assert.missing_argument", f"{at}.index")
        if not isinstance(restriction["index"], str):
            raise kerror("api.assert.invalid_type", f"{at}.index", "string")
        collections = restriction.get("collections")
        if collections is not None and (
            not isinstance(collections, list) or not all(isinstance(c, str) for c in collections)
        ):
            raise kerror("api.assert.invalid_type", f"{at}.collections", "string[]")
        for member in restriction:
            if member not in ("index", "collections"):
                raise kerror("api.assert.unexpected_argument", f"{at}.{member}", '"index", "collections"')


class Profiles:
    def __init__(
        self, engine: Engine, roles: Roles, *, cache_ttl: float = CACHE_TTL, epoch: Epoch | None = None
    ) -> None:
        self.engine = engine
        self.roles = roles
        self._cache: TtlCache[dict[str, Any]] = TtlCache(cache_ttl, epoch=epoch)

    # ---- reads --------------------------------------------------------------------------
    async def find(self, profile_id: str) -> dict[str, Any] | None:
        """The profile's ``_source``, or None; served from the cache when fresh."""
        cached = self._cache.get(profile_id)
        if cached is not None:
            return cached
        stored = await self.engine.get(PROFILES, profile_id)
        return None if stored is None else self._remember(stored)

    async def get(self, profile_id: str) -> dict[str, Any]:
        """Raises security.profile.not_found."""
        profile = await self.find(profile_id)
        if profile is None:
            raise kerror("security.profile.not_found", profile_id)
        return profile

    async def mget(self, profile_ids: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
        """All or nothing (Kuzzle): the first unknown id raises security.profile.not_found."""
        return [(profile_id, await self.get(profile_id)) for profile_id in profile_ids]

    async def require(self, profile_ids: Sequence[str]) -> None:
        """Raises security.profile.not_found for the first profile that does not exist."""
        for profile_id in profile_ids:
            await self.get(profile_id)

    def all_cached(self, profile_ids: Sequence[str]) -> bool:
        """True when every one of these profiles is in the cache: ``require`` would not raise, and
        a caller can spare awaiting it."""
        get = self._cache.get
        for profile_id in profile_ids:  # noqa: SIM110 (all() with a generator costs twice as much)
            if get(profile_id) is None:
                return False
        return True

    async def search(self, filter: Filter, *, sort: Any = (), offset: int, limit: int) -> SearchPage:
        return await self.engine.search(PROFILES, filter, sort=sort, offset=offset, limit=limit)

    # ---- writes -------------------------------------------------------------------------
    async def validate(self, profile_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The profile content to store; raises api.assert.*, security.role.not_found,
        security.profile.missing_anonymous_role."""
        content = without_reserved(body)
        policies = validate_policies(profile_id, content)
        role_ids = [policy["roleId"] for policy in policies]
        await self.roles.mget(role_ids)
        if profile_id == "anonymous" and "anonymous" not in role_ids:
            raise kerror("security.profile.missing_anonymous_role")
        return content

    async def create(
        self, profile_id: str, body: dict[str, Any], *, author: str | None, durable: bool
    ) -> dict[str, Any]:
        """Raises services.storage.document_already_exists if the profile exists."""
        content = await self.validate(profile_id, body)
        try:
            stored = await self.engine.create(
                PROFILES, profile_id, _document(content, created_info(author)), durable=durable
            )
        except DuplicateKey:
            raise kerror("services.storage.document_already_exists") from None
        return self._remember(stored)

    async def ensure(self, profile_id: str, body: dict[str, Any]) -> bool:
        """Create the profile unless it exists (idempotent bootstrap); True if created."""
        content = await self.validate(profile_id, body)
        try:
            stored = await self.engine.create(
                PROFILES, profile_id, _document(content, created_info(None)), durable=True
            )
        except DuplicateKey:
            return False
        self._remember(stored)
        return True

    async def create_or_replace(
        self, profile_id: str, body: dict[str, Any], *, author: str | None, durable: bool, retries: int = 10
    ) -> dict[str, Any]:
        content = await self.validate(profile_id, body)
        for _ in range(retries + 1):
            current = await self.engine.get(PROFILES, profile_id)
            if current is None:
                try:
                    stored = await self.engine.create(
                        PROFILES, profile_id, _document(content, created_info(author)), durable=durable
                    )
                except DuplicateKey:
                    continue
                return self._remember(stored)
            replaced = await self._replace(current, content, author, durable)
            if replaced is not None:
                return replaced
        raise kerror("services.storage.too_many_changes", profile_id)

    async def update(
        self, profile_id: str, body: dict[str, Any], *, updater: str | None, durable: bool, retries: int
    ) -> dict[str, Any]:
        """A top-level merge into the current profile, version-guarded: no lost update."""
        changes = without_reserved(body)
        for _ in range(retries + 1):
            current = await self.engine.get(PROFILES, profile_id)
            if current is None:
                raise kerror("security.profile.not_found", profile_id)
            merged = {**without_reserved(current.source.get("content", {})), **changes}
            content = await self.validate(profile_id, merged)
            replaced = await self._replace(current, content, updater, durable)
            if replaced is not None:
                return replaced
        raise kerror("services.storage.too_many_changes", profile_id)

    async def _replace(
        self, current: Stored, content: dict[str, Any], updater: str | None, durable: bool
    ) -> dict[str, Any] | None:
        """Replace ``current`` if it did not change meanwhile; None on a conflict (retry)."""
        info = updated_info(current.source.get("content", {}).get(INFO), updater)
        try:
            replaced = await self.engine.replace(
                PROFILES, current.id, _document(content, info), if_version=current.version, durable=durable
            )
        except StorageConflict:
            return None
        return None if replaced is None else self._remember(replaced)

    async def delete(
        self,
        profile_id: str,
        *,
        holders: ProfileHolders,
        on_assigned_users: OnAssignedUsers,
        updater: str | None,
        durable: bool,
    ) -> None:
        """Raises security.profile.cannot_delete (built-ins), not_found, in_use (``fail`` mode).

        ``remove`` first strips the profile from its users (each user write is
        atomic; users left without profile get ``anonymous``), then deletes it.
        """
        if profile_id in PROTECTED:
            raise kerror("security.profile.cannot_delete")
        await self.get(profile_id)
        if on_assigned_users == "remove":
            await holders.remove_profile(profile_id, updater=updater, durable=durable)
        elif await holders.count_with_profile(profile_id) > 0:
            raise kerror("security.profile.in_use", profile_id)
        deleted = await self.engine.delete(PROFILES, profile_id, durable=durable)
        self._cache.drop(profile_id)
        if not deleted:
            raise kerror("security.profile.not_found", profile_id)

    @property
    def generation(self) -> int:
        """Changes whenever a cached entry is added, refreshed, dropped or expires."""
        return self._cache.generation

    def forget(self, profile_id: str | None = None) -> None:
        if profile_id is None:
            self._cache.clear()
        else:
            self._cache.drop(profile_id)

    def _remember(self, stored: Stored) -> dict[str, Any]:
        content: dict[str, Any] = stored.source.get("content", {})
        self._cache.put(stored.id, content)
        return content


def _document(content: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    role_ids = sorted({policy["roleId"] for policy in content.get("policies", [])})
    return {"content": {**content, INFO: info}, "roleIds": role_ids}
