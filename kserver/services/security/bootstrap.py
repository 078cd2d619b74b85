"""Kuzzle's built-in roles and profiles, the first administrator, and the security reset.

**Bootstrap** (a startup step): roles and profiles ``anonymous``, ``default`` and
``admin``, all granting ``*:*`` as a fresh Kuzzle, each created with ``create``
and left alone if it exists: any number of nodes or restarts give one copy and
never undo a restriction.

**createFirstAdmin** is race-free through a reserved document ``firstAdmin`` in
collection ``config``: after a fast "an admin exists" check, the caller must
*create* that document; the store's duplicate-id check lets exactly one of
concurrent callers through, the others get ``api.process.admin_exists``. The
winner then creates the admin user (with its credentials, one write). If that
fails the lock is released at once; if the node dies in between, the lock goes
stale after ``LOCK_STALE_MS`` and a later call takes it over with a
version-guarded replace (again, one winner). Once the admin exists the count
check refuses; if every admin is deleted later, the (old) lock is taken over.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kserver.services.collections import CONFIG, PROFILES, ROLES
from kserver.services.security.metadata import now_ms
from kserver.services.security.profiles import Profiles
from kserver.services.security.roles import PROTECTED, Roles
from kserver.services.security.users import IdKind, Users, new_kuid
from kserver.storage.filters import Ids, Not
from kserver.storage.port import DuplicateKey, Engine, StorageConflict
from kserver.wire.catalog import kerror

FIRST_ADMIN_LOCK = "firstAdmin"
LOCK_STALE_MS = 30_000

_ALL = {"controllers": {"*": {"actions": {"*": True}}}}

PERMISSIVE_ROLES: dict[str, dict[str, Any]] = {"admin": _ALL, "default": _ALL, "anonymous": _ALL}
PERMISSIVE_PROFILES: dict[str, dict[str, Any]] = {
    "admin": {"policies": [{"roleId": "admin"}], "rateLimit": 0},
    "default": {"policies": [{"roleId": "default"}]},
    "anonymous": {"policies": [{"roleId": "anonymous"}]},
}
# Kuzzle's config.security.standard, applied by restrictDefaultRights.
RESTRICTED_ROLES: dict[str, dict[str, Any]] = {
    "admin": _ALL,
    "default": {
        "controllers": {
            "auth": {
                "actions": {
                    "checkToken": True,
                    "getCurrentUser": True,
                    "getMyRights": True,
                    "logout": True,
                    "updateSelf": True,
                }
            },
            "server": {"actions": {"publicApi": True}},
        }
    },
    "anonymous": {
        "controllers": {
            "auth": {
                "actions": {"checkToken": True, "getCurrentUser": True, "getMyRights": True, "login": True}
            },
            "server": {"actions": {"publicApi": True, "openapi": True}},
        }
    },
}
RESTRICTED_PROFILES: dict[str, dict[str, Any]] = {
    "admin": {"policies": [{"roleId": "admin"}], "rateLimit": 0},
    "default": {"policies": [{"roleId": "default"}], "rateLimit": 10},
    "anonymous": {"policies": [{"roleId": "anonymous"}], "rateLimit": 200},
}


class SecurityBootstrap:
    def __init__(self, engine: Engine, roles: Roles, profiles: Profiles, users: Users) -> None:
        self.engine = engine
        self.roles = roles
        self.profiles = profiles
        self.users = users
        self._resetting = asyncio.Lock()

    async def ensure_defaults(self) -> None:
        """The startup step: create the built-in roles, then profiles, where missing."""
        for role_id, role in PERMISSIVE_ROLES.items():
            await self.roles.ensure(role_id, role)
        for profile_id, profile in PERMISSIVE_PROFILES.items():
            await self.profiles.ensure(profile_id, profile)

    async def restrict_default_rights(self, author: str | None) -> None:
        """security:restrictDefaultRights: Kuzzle's standard roles, then profiles (durable)."""
        for role_id, role in RESTRICTED_ROLES.items():
            await self.roles.create_or_replace(role_id, role, force=False, author=author, durable=True)
        for profile_id, profile in RESTRICTED_PROFILES.items():
            await self.profiles.create_or_replace(profile_id, profile, author=author, durable=True)

    async def create_first_admin(
        self,
        kuid: str | None,
        content: dict[str, Any],
        *,
        credentials: dict[str, Any],
        reset: bool,
        author: str | None,
        durable: bool,
        id_kind: IdKind,
    ) -> tuple[str, dict[str, Any]]:
        """Raises api.process.admin_exists when an admin exists or another creation won."""
        if await self.users.admin_exists():
            raise kerror("api.process.admin_exists")
        version = await self._take_lock()
        try:
            created = await self.users.create(
                kuid or new_kuid(id_kind),
                content,
                ["admin"],
                credentials=credentials,
                author=author,
                durable=durable,
            )
        except BaseException:
            await self.engine.delete(CONFIG, FIRST_ADMIN_LOCK, if_version=version, durable=True)
            raise
        if reset:
            await self.restrict_default_rights(author)
        return created

    async def _take_lock(self) -> int:
        """The lock document's version once this caller holds it; raises api.process.admin_exists."""
        lock = {"at": now_ms()}
        try:
            return (await self.engine.create(CONFIG, FIRST_ADMIN_LOCK, lock, durable=True)).version
        except DuplicateKey:
            pass
        current = await self.engine.get(CONFIG, FIRST_ADMIN_LOCK)
        if current is None:  # released meanwhile: one more try
            try:
                return (await self.engine.create(CONFIG, FIRST_ADMIN_LOCK, lock, durable=True)).version
            except DuplicateKey:
                raise kerror("api.process.admin_exists") from None
        taken_at = current.source.get("at")
        fresh = isinstance(taken_at, int) and now_ms() - taken_at < LOCK_STALE_MS
        if fresh or await self.users.admin_exists():
            raise kerror("api.process.admin_exists")
        try:
            replaced = await self.engine.replace(
                CONFIG, FIRST_ADMIN_LOCK, lock, if_version=current.version, durable=True
            )
        except StorageConflict:
            raise kerror("api.process.admin_exists") from None
        if replaced is None:
            raise kerror("api.process.admin_exists")
        return replaced.version

    async def reset_security(self) -> dict[str, int]:
        """admin:resetSecurity: every user, non-built-in profile and role deleted, built-ins made
        permissive again (a fresh server). Raises api.process.action_locked while one runs."""
        if self._resetting.locked():
            raise kerror("api.process.action_locked", "admin:resetSecurity")
        async with self._resetting:
            users = await self.users.delete_all(durable=True)
            others = Not(Ids(tuple(sorted(PROTECTED))))
            profiles = await self.engine.delete_matching(PROFILES, others, durable=True)
            roles = await self.engine.delete_matching(ROLES, others, durable=True)
            await self.engine.delete(CONFIG, FIRST_ADMIN_LOCK, durable=True)
            self.profiles.forget()
            self.roles.forget()
            for role_id, role in PERMISSIVE_ROLES.items():
                await self.roles.create_or_replace(role_id, role, force=True, author=None, durable=True)
            for profile_id, profile in PERMISSIVE_PROFILES.items():
                await self.profiles.create_or_replace(profile_id, profile, author=None, durable=True)
            return {"deletedUsers": users, "deletedProfiles": profiles, "deletedRoles": roles}
