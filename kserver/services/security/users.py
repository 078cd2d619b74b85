"""Users: the only writer of user documents (besides the auth services' credential updates).

Layout (``kserver.services.collections``): ``{"content": {profileIds, ...content,
_kuzzle_info}, "credentials": {<strategy>: {...}}}``; ``content`` is the user's
``_source``, credentials are never returned. Every method below makes one
atomic store write, taking already-validated content:

- ``create``: the user and all its credentials in one ``engine.create`` (a
  rejected credential or a taken username leaves nothing behind);
- ``update``: ``engine.update`` of ``content.<key>`` paths (atomic per field:
  concurrent updates of different fields never lose each other);
- ``replace``: the whole ``content`` path, guarded by the version it read;
- ``delete``: the document, credentials included; then ``on_user_deleted`` hooks
  (token revocation) run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from kserver.services.collections import USERS, public_source
from kserver.services.names import human_name
from kserver.services.security.metadata import INFO, created_info, now_ms, updated_info
from kserver.services.security.profiles import Profiles
from kserver.services.strategy import Strategies
from kserver.services.user_events import UserEvent, UserEvents
from kserver.storage.filters import MATCH_ALL, Eq, Filter
from kserver.storage.port import DuplicateKey, Engine, SearchPage, SortSpec, StorageConflict
from kserver.wire.catalog import KuzzleError, kerror
from kserver.wire.context import ANONYMOUS_KUID
from kserver.wire.request import Refresh

log = logging.getLogger("kserver.security.users")

IdKind = Literal["human", "uuid"]
RESERVED_IDS = frozenset({ANONYMOUS_KUID, "anonymous"})
ANONYMOUS_SOURCE: dict[str, Any] = {"name": "Anonymous", "profileIds": ["anonymous"]}
_GENERATION_ATTEMPTS = 5


def check_content_keys(content: dict[str, Any], where: str) -> None:
    """Field names become storage paths: no '.', no leading '$', not empty."""
    for key in content:
        if not key or "." in key or key.startswith("$"):
            raise kerror("api.assert.invalid_argument", where, "field names without '.' or a leading '$'")


def new_kuid(kind: IdKind) -> str:
    return human_name("kuid") if kind == "human" else f"kuid-{uuid.uuid4()}"


def duplicate_error(conflict: DuplicateKey, kuid: str) -> KuzzleError:
    """The client error for a unique-path clash of user ``kuid``.

    A taken login name: passport-local answers a plain 412 without id; the
    closest catalog id is ``security.credentials.rejected`` (the upsert service
    uses the same). An identity key: ``security.user.identity_taken``.
    """
    if conflict.path == "_id":
        return kerror("security.user.already_exists", kuid)
    if conflict.path.startswith("credentials."):
        return kerror("security.credentials.rejected", f'login name "{conflict.value}" is already taken')
    return kerror("security.user.identity_taken", conflict.path.removeprefix("content."), str(conflict.value))


class Users:
    def __init__(
        self, engine: Engine, profiles: Profiles, strategies: Callable[[], Strategies], events: UserEvents
    ) -> None:
        self.engine = engine
        self.profiles = profiles
        self._strategies = strategies
        self.events = events
        self.on_user_deleted: list[Callable[[str], Awaitable[None]]] = []
        """Run after a user is deleted, with its kuid (the auth services revoke its tokens)."""

    # ---- reads --------------------------------------------------------------------------
    async def get(self, kuid: str) -> tuple[str, dict[str, Any]]:
        """``(_id, _source)``; ``-1``/``anonymous`` give the built-in anonymous user; raises not_found."""
        if kuid in RESERVED_IDS:
            return ANONYMOUS_KUID, dict(ANONYMOUS_SOURCE)
        stored = await self.engine.get(USERS, kuid)
        if stored is None:
            raise kerror("security.user.not_found", kuid)
        return kuid, public_source(stored)

    async def mget(self, kuids: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
        """The users that exist, in order; unknown ids are skipped (Kuzzle)."""
        return [(doc.id, public_source(doc)) for doc in await self.engine.mget(USERS, list(kuids))]

    async def search(self, filter: Filter, *, sort: SortSpec, offset: int, limit: int) -> SearchPage:
        return await self.engine.search(USERS, filter, sort=sort, offset=offset, limit=limit)

    async def strategies_of(self, kuid: str) -> list[str]:
        """The strategies the user has credentials for; raises not_found."""
        if kuid in RESERVED_IDS:
            return []
        stored = await self.engine.get(USERS, kuid)
        if stored is None:
            raise kerror("security.user.not_found", kuid)
        return sorted(stored.source.get("credentials") or {})

    async def profile_ids(self, kuid: str) -> list[str]:
        _, source = await self.get(kuid)
        ids = source.get("profileIds")
        return [p for p in ids if isinstance(p, str)] if isinstance(ids, list) else []

    async def admin_exists(self) -> bool:
        return await self.engine.count(USERS, Eq("content.profileIds", "admin")) > 0

    # ---- writes -------------------------------------------------------------------------
    async def create(
        self,
        kuid: str | None,
        content: dict[str, Any],
        profile_ids: list[str],
        *,
        credentials: dict[str, Any],
        author: str | None,
        durable: bool,
        id_kind: IdKind = "human",
    ) -> tuple[str, dict[str, Any]]:
        """Create a user and its credentials in one write; a missing ``kuid`` is generated.

        Raises security.user.already_exists, security.profile.not_found,
        security.credentials.unknown_strategy / the strategies' errors,
        security.credentials.rejected (login name taken), security.user.identity_taken.
        """
        if kuid in RESERVED_IDS:
            if kuid == ANONYMOUS_KUID and "anonymous" not in profile_ids:
                raise kerror("security.user.anonymous_profile_required")
            raise kerror("security.user.already_exists", kuid)
        check_content_keys(content, "body.content")
        await self.profiles.require(profile_ids)
        strategies = self._strategies()
        for name, payload in credentials.items():
            strategies.get(name)
            if not isinstance(payload, dict):
                raise kerror("api.assert.invalid_type", f"body.credentials.{name}", "object")
        for _ in range(_GENERATION_ATTEMPTS):
            user_id = kuid or new_kuid(id_kind)
            prepared = {
                name: await strategies.get(name).prepare(user_id, payload, current=None)
                for name, payload in credentials.items()
            }
            body = {**content, "profileIds": profile_ids, INFO: created_info(author)}
            try:
                stored = await self.engine.create(
                    USERS, user_id, {"content": body, "credentials": prepared}, durable=durable
                )
            except DuplicateKey as conflict:
                if conflict.path == "_id" and kuid is None:
                    continue  # a generated id already taken: draw another
                raise duplicate_error(conflict, user_id) from None
            source = public_source(stored)
            self.events.emit(UserEvent("create", user_id, source, True, author))
            return user_id, source
        raise kerror("services.storage.too_many_changes", kuid or "(generated)")

    async def update(
        self,
        kuid: str,
        changes: dict[str, Any],
        profile_ids: list[str] | None,
        *,
        updater: str | None,
        durable: bool,
    ) -> dict[str, Any]:
        """Top-level merge of ``changes`` into the content: one atomic write of the changed fields."""
        self._refuse_anonymous(kuid, profile_ids)
        check_content_keys(changes, "body")
        if profile_ids is not None:
            await self.profiles.require(profile_ids)
        paths: dict[str, Any] = {
            f"content.{key}": value
            for key, value in changes.items()
            if key not in (INFO, "profileIds", "_id")
        }
        if profile_ids is not None:
            paths["content.profileIds"] = profile_ids
        paths[f"content.{INFO}.updatedAt"] = now_ms()
        paths[f"content.{INFO}.updater"] = updater
        try:
            stored = await self.engine.update(USERS, kuid, paths, durable=durable)
        except DuplicateKey as conflict:
            raise duplicate_error(conflict, kuid) from None
        if stored is None:
            raise kerror("security.user.not_found", kuid)
        source = public_source(stored)
        self.events.emit(UserEvent("update", kuid, source, False, updater))
        return source

    async def update_self(
        self, kuid: str, changes: dict[str, Any], refresh: Refresh, retries: int
    ) -> dict[str, Any]:
        """auth:updateSelf (the auth controller's ``SelfUpdater``): ``update`` by the user itself.

        The caller has refused ``_id``/``profileIds``; per-field writes need no retry.
        """
        return await self.update(kuid, changes, None, updater=kuid, durable=refresh == "wait_for")

    async def replace(
        self,
        kuid: str,
        content: dict[str, Any],
        profile_ids: list[str],
        *,
        updater: str | None,
        durable: bool,
        retries: int,
    ) -> dict[str, Any]:
        """Replace the whole content (credentials kept); author/createdAt kept, version-guarded."""
        self._refuse_anonymous(kuid, profile_ids)
        check_content_keys(content, "body")
        await self.profiles.require(profile_ids)
        body = {key: value for key, value in content.items() if key not in (INFO, "profileIds", "_id")}
        for _ in range(retries + 1):
            current = await self.engine.get(USERS, kuid)
            if current is None:
                raise kerror("security.user.not_found", kuid)
            info = updated_info(public_source(current).get(INFO), updater)
            new_content = {**body, "profileIds": profile_ids, INFO: info}
            try:
                stored = await self.engine.update(
                    USERS, kuid, {"content": new_content}, if_version=current.version, durable=durable
                )
            except DuplicateKey as conflict:
                raise duplicate_error(conflict, kuid) from None
            except StorageConflict:
                continue
            if stored is None:
                raise kerror("security.user.not_found", kuid)
            source = public_source(stored)
            self.events.emit(UserEvent("replace", kuid, source, False, updater))
            return source
        raise kerror("services.storage.too_many_changes", kuid)

    async def delete(self, kuid: str, *, durable: bool, author: str | None = None) -> None:
        """Delete the user and its credentials (one write), then run ``on_user_deleted``."""
        if not await self.engine.delete(USERS, kuid, durable=durable):
            raise kerror("security.user.not_found", kuid)
        self.events.emit(UserEvent("delete", kuid, None, None, author))
        await self._deleted(kuid)

    async def delete_all(self, *, durable: bool) -> int:
        """Delete every user (admin:resetSecurity); hooks run for each deleted kuid."""
        kuids: list[str] = []
        while True:
            page = await self.engine.search(USERS, MATCH_ALL, offset=len(kuids), limit=1000)
            kuids.extend(doc.id for doc in page.hits)
            if not page.hits:
                break
        count = await self.engine.delete_matching(USERS, MATCH_ALL, durable=durable)
        for kuid in kuids:
            await self._deleted(kuid)
        return count

    # ---- profile holders (profiles.ProfileHolders) -----------------------------------------
    async def count_with_profile(self, profile_id: str) -> int:
        return await self.engine.count(USERS, Eq("content.profileIds", profile_id))

    async def remove_profile(self, profile_id: str, *, updater: str | None, durable: bool) -> None:
        """Strip ``profile_id`` from every user (``anonymous`` if none is left), each a guarded write."""
        holders = Eq("content.profileIds", profile_id)
        while True:
            page = await self.engine.search(USERS, holders, limit=100)
            if not page.hits:
                return
            for doc in page.hits:
                kept = [p for p in public_source(doc).get("profileIds", []) if p != profile_id]
                paths = {
                    "content.profileIds": kept or ["anonymous"],
                    f"content.{INFO}.updatedAt": now_ms(),
                    f"content.{INFO}.updater": updater,
                }
                try:
                    stored = await self.engine.update(
                        USERS, doc.id, paths, if_version=doc.version, durable=durable
                    )
                except StorageConflict:
                    continue  # changed meanwhile: the next page reads it again
                if stored is not None:
                    self.events.emit(UserEvent("update", doc.id, public_source(stored), False, updater))

    # ---- helpers ------------------------------------------------------------------------
    def _refuse_anonymous(self, kuid: str, profile_ids: list[str] | None) -> None:
        """The anonymous user is built in: never written (Kuzzle's errors for it)."""
        if kuid not in RESERVED_IDS:
            return
        if profile_ids is not None and "anonymous" not in profile_ids:
            raise kerror("security.user.anonymous_profile_required")
        raise kerror("services.storage.not_found", kuid, "%kuzzle", USERS)

    async def _deleted(self, kuid: str) -> None:
        for hook in self.on_user_deleted:
            try:
                await hook(kuid)
            except Exception:
                log.exception("on_user_deleted hook failed for %s", kuid)
