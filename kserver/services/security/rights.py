"""The rights check every request goes through, and the rights listings (Kuzzle's evaluation).

A request is allowed when **any** policy of **any** of the caller's profiles
uses a role granting controller+action (``roles.role_allows``) **and** whose
``restrictedTo`` accepts the request's index/collection. A missing profile or
role grants nothing. Roles and profiles come from their services' caches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kserver.services.security.profiles import Profiles
from kserver.services.security.roles import Roles, role_allows
from kserver.wire.catalog import kerror
from kserver.wire.context import Caller
from kserver.wire.request import Request


def restrictions_accept(restricted: Any, index: str | None, collection: str | None) -> bool:
    """None/empty = everything; no index in the request = accepted; else index (and collection) listed."""
    if not restricted:
        return True
    if not index:
        return True
    for restriction in restricted:
        if restriction.get("index") != index:
            continue
        collections = restriction.get("collections")
        if not collections or collection in collections:
            return True
    return False


class Rights:
    def __init__(self, roles: Roles, profiles: Profiles) -> None:
        self.roles = roles
        self.profiles = profiles

    async def check(self, request: Request, caller: Caller) -> None:
        """Raises security.rights.unauthorized (anonymous) or security.rights.forbidden."""
        if await self.allowed(caller.profile_ids, request.controller, request.action, request.args):
            return
        error = "security.rights.unauthorized" if caller.anonymous else "security.rights.forbidden"
        raise kerror(error, request.controller, request.action, caller.kuid)

    async def allowed(
        self, profile_ids: Sequence[str], controller: str, action: str, args: dict[str, Any]
    ) -> bool:
        """Whether profiles ``profile_ids`` may run ``controller:action`` with ``args``
        (``index``, ``collection``, ``targets``)."""
        policies = await self._granting(profile_ids, controller, action)
        if not policies:
            return False
        targets = args.get("targets")
        if isinstance(targets, list) and targets:
            return _targets_allowed(policies, targets)
        index, collection = args.get("index"), args.get("collection")
        index = index if isinstance(index, str) else None
        collection = collection if isinstance(collection, str) else None
        return any(restrictions_accept(policy.get("restrictedTo"), index, collection) for policy in policies)

    async def _granting(
        self, profile_ids: Sequence[str], controller: str, action: str
    ) -> list[dict[str, Any]]:
        """The policies whose role grants the action."""
        granting: list[dict[str, Any]] = []
        for profile_id in profile_ids:
            profile = await self.profiles.find(profile_id)
            if profile is None:
                continue
            for policy in profile.get("policies", []):
                role = await self.roles.find(policy.get("roleId", ""))
                if role is not None and role_allows(role.get("controllers", {}), controller, action):
                    granting.append(policy)
        return granting

    async def listing(self, profile_ids: Sequence[str]) -> list[dict[str, Any]]:
        """``{controller, action, index, collection, value}`` items; duplicates merged, allowed wins."""
        items: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        for profile_id in profile_ids:
            profile = await self.profiles.get(profile_id)
            for policy in profile.get("policies", []):
                role = await self.roles.find(policy.get("roleId", ""))
                if role is None:
                    continue
                for index, collection in _scopes(policy.get("restrictedTo")):
                    for controller, rights in role.get("controllers", {}).items():
                        for action, value in rights.get("actions", {}).items():
                            key = (controller, action, index, collection)
                            allowed = value is True or items.get(key, {}).get("value") == "allowed"
                            items[key] = {
                                "controller": controller,
                                "action": action,
                                "index": index,
                                "collection": collection,
                                "value": "allowed" if allowed else "denied",
                            }
        return list(items.values())


def _scopes(restricted: Any) -> list[tuple[str, str]]:
    if not restricted:
        return [("*", "*")]
    scopes: list[tuple[str, str]] = []
    for restriction in restricted:
        collections = restriction.get("collections") or ["*"]
        scopes.extend((restriction["index"], collection) for collection in collections)
    return scopes


def _targets_allowed(policies: list[dict[str, Any]], targets: list[Any]) -> bool:
    """Every target index/collection must be accepted by some granting policy; wildcards are denied."""
    for target in targets:
        if not isinstance(target, dict):
            continue
        index, collections = target.get("index"), target.get("collections")
        if not isinstance(index, str) or not index or not isinstance(collections, list):
            continue
        if "*" in index:
            return False
        for collection in collections:
            if not isinstance(collection, str) or "*" in collection:
                return False
            if not any(restrictions_accept(p.get("restrictedTo"), index, collection) for p in policies):
                return False
    return True

