"""The rights check every request goes through, and the rights listings (Kuzzle's evaluation).

A request is allowed when **any** policy of **any** of the caller's profiles
uses a role granting controller+action (``roles.role_allows``) **and** whose
``restrictedTo`` accepts the request's index/collection. A missing profile or
role grants nothing. Roles and profiles come from their services' caches.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from kserver.services.security.profiles import Profiles
from kserver.services.security.roles import CACHE_TTL, Roles, role_allows
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


_MEMO_MAX = 10_000


def _policies_accept(policies: list[dict[str, Any]], args: dict[str, Any]) -> bool:
    """Whether one of the granting ``policies`` accepts the request's index/collection (or targets)."""
    if "index" not in args and "targets" not in args:
        return True  # restrictions concern indexes only: every granting policy accepts
    targets = args.get("targets")
    if isinstance(targets, list) and targets:
        return _targets_allowed(policies, targets)
    index, collection = args.get("index"), args.get("collection")
    index = index if isinstance(index, str) else None
    collection = collection if isinstance(collection, str) else None
    return any(restrictions_accept(policy.get("restrictedTo"), index, collection) for policy in policies)


class Rights:
    """Every request asks ``check``; its answer for (profiles, controller, action) is memoised.

    The memo is forgotten whenever the roles or profiles caches change (a write on
    this node, a refresh after their TTL, an expiry), so it is never staler than
    those caches: this node sees its own writes at once, other nodes' within the TTL.
    """

    def __init__(self, roles: Roles, profiles: Profiles) -> None:
        self.roles = roles
        self.profiles = profiles
        self._memo: dict[tuple[tuple[str, ...], str, str], list[dict[str, Any]]] = {}
        self._memo_stamp = (-1, -1)
        self._memo_until = 0.0

    def allowed_now(self, request: Request, caller: Caller) -> bool:
        """True when the memo knows ``request`` is allowed (no await); False: ``check`` decides."""
        policies = self._memoised(caller.profile_ids, request.controller, request.action)
        if not policies:
            return False
        return _policies_accept(policies, request.args)

    def fresh_until(self, request: Request, caller: Caller) -> float:
        """The monotonic time until which the memo answers ``allowed_now`` for this request's action
        without reading the caches (0.0: it does not know it now)."""
        if self._memoised(caller.profile_ids, request.controller, request.action) is None:
            return 0.0
        return self._memo_until

    async def check(self, request: Request, caller: Caller) -> None:
        """Raises security.rights.unauthorized (anonymous) or security.rights.forbidden."""
        if self.allowed_now(request, caller):  # the hot path: no await, no cache read
            return
        known = self._memoised(caller.profile_ids, request.controller, request.action) is not None
        if not known and await self.allowed(
            caller.profile_ids, request.controller, request.action, request.args
        ):
            return
        error = "security.rights.unauthorized" if caller.anonymous else "security.rights.forbidden"
        raise kerror(error, request.controller, request.action, caller.kuid)

    async def allowed(
        self, profile_ids: Sequence[str], controller: str, action: str, args: dict[str, Any]
    ) -> bool:
        """Whether profiles ``profile_ids`` may run ``controller:action`` with ``args``
        (``index``, ``collection``, ``targets``)."""
        policies = await self._granting(profile_ids, controller, action)
        return bool(policies) and _policies_accept(policies, args)

    def _memoised(
        self, profile_ids: Sequence[str], controller: str, action: str
    ) -> list[dict[str, Any]] | None:
        """The memoised granting policies, or None when the memo cannot answer."""
        if (
            time.monotonic() >= self._memo_until
            or (self.roles.generation, self.profiles.generation) != self._memo_stamp
        ):
            return None
        return self._memo.get((tuple(profile_ids), controller, action))

    async def _granting(
        self, profile_ids: Sequence[str], controller: str, action: str
    ) -> list[dict[str, Any]]:
        """The policies whose role grants the action."""
        stamp = (self.roles.generation, self.profiles.generation)
        now = time.monotonic()
        # A memo hit never reads the caches, so it would never see their entries expire:
        # the memo itself lives no longer than one cache TTL.
        if stamp != self._memo_stamp or now >= self._memo_until or len(self._memo) > _MEMO_MAX:
            self._memo.clear()
            self._memo_stamp = stamp
            self._memo_until = now + CACHE_TTL
        key = (tuple(profile_ids), controller, action)
        memo = self._memo.get(key)
        if memo is not None:
            return memo
        granting = await self._compute_granting(profile_ids, controller, action)
        if (self.roles.generation, self.profiles.generation) == stamp:
            self._memo[key] = granting  # no cache changed while computing: the answer is current
        return granting

    async def _compute_granting(
        self, profile_ids: Sequence[str], controller: str, action: str
    ) -> list[dict[str, Any]]:
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
