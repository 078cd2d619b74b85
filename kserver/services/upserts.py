"""Atomic user upserts, single and batched, keyed by ``_id`` or by identity keys.

Kuzzle's ``upsertUser`` updates, and on "not found" creates the user and then its
credentials: concurrent upserts race and a crash leaves half a user. Here every
attempt is **one atomic store write** of the whole user (content, defaults,
credentials, metadata): the storage port's ``upsert`` (MongoDB: one
``find_one_and_update(upsert=True)`` with ``$set``/``$setOnInsert``; SQLite: one
transaction). Identity keys are unique paths enforced by the store, so two
concurrent upserts of one new e-mail give one user: the loser's write fails
with ``DuplicateKey``, and its retry finds and updates the winner's user.

A read happens before the write only to spare a password hash when the user
already exists (credentials apply at creation only); it never decides the outcome:
the update branch uses an update-only write, and a user deleted meanwhile sends
the attempt back to the create branch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kserver.services.collections import USERS, identity_path, public_source
from kserver.services.names import human_name
from kserver.services.strategy import Strategies
from kserver.services.user_events import UserEvent, UserEvents
from kserver.storage.filters import Eq, Filter, In, Or
from kserver.storage.port import DuplicateKey, Engine, StorageConflict, StorageUnavailable, UnstorableValue
from kserver.wire.catalog import KuzzleError, kerror

log = logging.getLogger("kserver.upserts")

_RESERVED_IDS = frozenset({"-1", "anonymous"})
_FIELD_NAMES = "field names without '.' or a leading '$'"


@dataclass(slots=True)
class UpsertItem:
    """One user to upsert; validated by ``validate_item`` before it reaches the service."""

    content: dict[str, Any]
    id: str | None
    credentials: dict[str, dict[str, Any]]
    default: dict[str, Any]

    # An explicit __init__ (the defaults are its own): mypyc compiles it; the one @dataclass writes
    # stays interpreted (per request).
    def __init__(
        self,
        content: dict[str, Any],
        id: str | None = None,
        credentials: dict[str, dict[str, Any]] | None = None,
        default: dict[str, Any] | None = None,
    ) -> None:
        self.content = content
        self.id = id
        self.credentials = {} if credentials is None else credentials
        self.default = {} if default is None else default


@dataclass(slots=True)  # one or more per request: not frozen, whose __init__ costs 3 times as much
class UpsertResult:
    id: str
    source: dict[str, Any]
    created: bool

    # An explicit __init__: mypyc compiles it; the one @dataclass writes stays interpreted (per request).
    def __init__(self, id: str, source: dict[str, Any], created: bool) -> None:
        self.id = id
        self.source = source
        self.created = created

    def to_json(self) -> dict[str, Any]:
        return {"_id": self.id, "_source": self.source, "created": self.created}


def validate_item(raw: Any, *, id: str | None, where: str = "body") -> UpsertItem:
    """Check one upsert's shape (Kuzzle's rules); raises api.assert.* errors.

    Run for every upsert: plain loops rather than ``all()`` over generators, and ``content``
    copied only when it carries ``_kuzzle_info`` (the request owns it and nothing mutates it)."""
    if not isinstance(raw, dict):
        raise kerror("api.assert.invalid_type", where, "object")
    content = raw.get("content")
    if content is None:
        raise kerror("api.assert.missing_argument", f"{where}.content")
    if not isinstance(content, dict):
        raise kerror("api.assert.invalid_type", f"{where}.content", "object")
    profile_ids = content.get("profileIds")
    if profile_ids is None:
        raise kerror("api.assert.missing_argument", f"{where}.content.profileIds")
    if not isinstance(profile_ids, list):
        raise kerror("api.assert.invalid_type", f"{where}.content.profileIds", "array of strings")
    for profile_id in profile_ids:
        if not isinstance(profile_id, str) or not profile_id:
            raise kerror("api.assert.invalid_type", f"{where}.content.profileIds", "array of strings")
    if not profile_ids:
        raise kerror("api.assert.empty_argument", f"{where}.content.profileIds")
    default = raw.get("default") or {}
    if not isinstance(default, dict):
        raise kerror("api.assert.invalid_type", f"{where}.default", "object")
    credentials = raw.get("credentials") or {}
    if not isinstance(credentials, dict):
        raise kerror("api.assert.invalid_type", f"{where}.credentials", "object of objects")
    for payload in credentials.values():
        if not isinstance(payload, dict):
            raise kerror("api.assert.invalid_type", f"{where}.credentials", "object of objects")
    for fields in (content, default) if default else (content,):
        for key in fields:
            if not isinstance(key, str) or not key or "." in key or key[0] == "$":
                raise kerror("api.assert.invalid_argument", f"{where}.content", _FIELD_NAMES)
    if id is not None and id in _RESERVED_IDS:
        raise kerror("api.assert.invalid_id", id)
    if "_kuzzle_info" in content:
        content = {k: v for k, v in content.items() if k != "_kuzzle_info"}
    if "_kuzzle_info" in default:
        default = {k: v for k, v in default.items() if k != "_kuzzle_info"}
    return UpsertItem(content, id, credentials, default)


class ProfileCheck(Protocol):
    """What upserts need of the profiles (``security.profiles.Profiles``)."""

    def all_cached(self, profile_ids: Sequence[str]) -> bool: ...

    async def require(self, profile_ids: Sequence[str]) -> None: ...


class UserUpserts:
    def __init__(
        self,
        engine: Engine,
        strategies: Callable[[], Strategies],
        identity_keys: Sequence[str],
        events: UserEvents,
        profiles: ProfileCheck,
        *,
        batch_concurrency: int = 64,
    ) -> None:
        self.engine = engine
        self._profiles = profiles  # require raises security.profile.not_found (a cached read)
        self._strategies = strategies
        self.identity_keys = tuple(identity_keys)
        self.events = events
        self.batch_concurrency = batch_concurrency

    async def upsert(
        self,
        item: UpsertItem,
        *,
        author: str,
        durable: bool,
        retries: int,
        volatile: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> UpsertResult:
        """Insert or partially update one user atomically; retries conflicts up to ``retries`` times.

        Raises security.profile.not_found, security.credentials.unknown_strategy,
        security.user.ambiguous_identity, security.user.identity_taken,
        security.credentials.rejected (username taken), api.assert.missing_argument
        (no _id and no identity key), services.storage.too_many_changes (conflicts
        outlasted ``retries``).
        """
        profile_ids = item.content["profileIds"]
        if not self._profiles.all_cached(profile_ids):  # spares a coroutine on the common path
            await self._profiles.require(profile_ids)
        if item.credentials:
            strategies = self._strategies()
            for name in item.credentials:
                strategies.get(name)  # raises unknown_strategy before anything is written
        if item.id is None and not self._identities(item.content):
            raise kerror("api.assert.missing_argument", "_id")
        prepared: dict[str, dict[str, Any]] | None = None
        now = int(time.time() * 1000)
        attempt = 0
        while True:
            try:
                kuid = item.id or await self._resolve(item.content)
                existing = None
                if kuid is not None and item.credentials:
                    existing = await self.engine.get(USERS, kuid)
                if kuid is not None and existing is not None:
                    stored = await self.engine.update(
                        USERS, kuid, self._set_paths(item, author, now), durable=durable
                    )
                    if stored is None:
                        raise StorageConflict("user deleted during upsert")
                    created = False
                else:
                    if kuid is None:
                        kuid = human_name("kuid")
                    if item.credentials and prepared is None:
                        strategies = self._strategies()
                        prepared = {
                            name: await strategies.get(name).prepare(kuid, payload, current=None)
                            for name, payload in item.credentials.items()
                        }
                    stored, created = await self.engine.upsert(
                        USERS,
                        kuid,
                        self._set_paths(item, author, now),
                        self._set_on_insert(item, prepared or {}, author, now),
                        durable=durable,
                    )
            except DuplicateKey as conflict:
                error = self._duplicate_error(conflict, item)
                if error is not None:
                    raise error from None
                if attempt >= retries:
                    raise kerror("services.storage.too_many_changes", item.id or "(identity)") from None
            except StorageConflict:
                if attempt >= retries:
                    raise kerror("services.storage.too_many_changes", item.id or "(identity)") from None
            else:
                source = public_source(stored)
                self.events.emit(UserEvent("upsert", kuid, source, created, author, volatile, request_id))
                return UpsertResult(kuid, source, created)
            attempt += 1
            await asyncio.sleep(0)

    async def upsert_many(
        self,
        items: Sequence[UpsertItem | KuzzleError],
        raw: Sequence[Any],
        *,
        author: str,
        durable: bool,
        retries: int,
        volatile: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """Upsert each item independently (concurrently, so writes share group commits).

        When the store becomes unavailable, the items it failed and those not yet
        tried get ``services.storage.not_connected`` each (they are not tried: a
        store that is down would make every one of them wait for it), while what
        was written is reported in ``successes``: the caller resends the errors.

        Returns ``{successes: [{_id, _source, created}], errors: [{index, user, status, id, message}]}``
        in item order; one bad item never fails the others.
        """
        gate = asyncio.Semaphore(self.batch_concurrency)
        outcomes: list[UpsertResult | KuzzleError] = [kerror("core.fatal.unexpected_error", "not run")] * len(
            items
        )

        # Holds the error once the store fails: later items are not tried. A list, not a nonlocal
        # variable: mypyc would trust a narrowing of it (``is None``) across the awaits that change it.
        unavailable: list[KuzzleError] = []

        async def run(index: int, item: UpsertItem | KuzzleError) -> None:
            if isinstance(item, KuzzleError):
                outcomes[index] = item
                return
            async with gate:
                if unavailable:
                    outcomes[index] = unavailable[0]
                    return
                try:
                    outcomes[index] = await self.upsert(
                        item,
                        author=author,
                        durable=durable,
                        retries=retries,
                        volatile=volatile,
                        request_id=request_id,
                    )
                except KuzzleError as error:
                    outcomes[index] = error
                except UnstorableValue as unstorable:  # this item's values; the others may be fine
                    outcomes[index] = kerror("services.storage.unexpected_bad_request", str(unstorable))
                except StorageUnavailable as down:  # a name per clause (mypyc#620)
                    if not unavailable:
                        log.warning("storage unavailable during a batch of upserts: %s", down)
                        unavailable.append(kerror("services.storage.not_connected"))
                    outcomes[index] = unavailable[0]

        await asyncio.gather(*(run(i, item) for i, item in enumerate(items)))
        successes: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, UpsertResult):
                successes.append(outcome.to_json())
            else:
                errors.append(
                    {
                        "index": index,
                        "user": _public_item(raw[index]),
                        "status": outcome.status,
                        "id": outcome.id,
                        "message": outcome.message,
                    }
                )
        return {"successes": successes, "errors": errors}

    # ---- building the atomic write ------------------------------------------------------
    def _set_paths(self, item: UpsertItem, author: str, now: int) -> dict[str, Any]:
        paths: dict[str, Any] = {f"content.{key}": value for key, value in item.content.items()}
        paths["content._kuzzle_info.updatedAt"] = now
        paths["content._kuzzle_info.updater"] = author
        return paths

    def _set_on_insert(
        self, item: UpsertItem, prepared: dict[str, dict[str, Any]], author: str, now: int
    ) -> dict[str, Any]:
        paths: dict[str, Any] = {
            f"content.{key}": value for key, value in item.default.items() if key not in item.content
        }
        paths["content._kuzzle_info.author"] = author
        paths["content._kuzzle_info.createdAt"] = now
        for name, stored in prepared.items():
            paths[f"credentials.{name}"] = stored
        return paths

    # ---- identity keys -----------------------------------------------------------------
    def _identities(self, content: dict[str, Any]) -> list[Filter]:
        clauses: list[Filter] = []
        for key in self.identity_keys:
            value = content.get(key)
            if value is None:
                continue
            if isinstance(value, list):
                scalars = tuple(v for v in value if isinstance(v, str | int | float | bool))
                if scalars:
                    clauses.append(In(identity_path(key), scalars))
            elif isinstance(value, str | int | float | bool):
                clauses.append(Eq(identity_path(key), value))
        return clauses

    async def _resolve(self, content: dict[str, Any]) -> str | None:
        """The one user holding any of ``content``'s identity values, None if none; raises if several."""
        clauses = self._identities(content)
        page = await self.engine.search(USERS, Or(tuple(clauses)), limit=2)
        ids = sorted({hit.id for hit in page.hits})
        if len(ids) > 1:
            keys = [k for k in self.identity_keys if content.get(k) is not None]
            raise kerror("security.user.ambiguous_identity", ", ".join(keys), ", ".join(ids))
        return ids[0] if ids else None

    def _duplicate_error(self, conflict: DuplicateKey, item: UpsertItem) -> KuzzleError | None:
        """The final error for a unique-path clash, or None when it is a race worth retrying."""
        if conflict.path.startswith("credentials."):
            return kerror("security.credentials.rejected", "username already taken")
        if conflict.path.startswith("content.") and item.id is not None:
            key = conflict.path[len("content.") :]
            return kerror("security.user.identity_taken", key, str(conflict.value))
        return None  # a concurrent creation of the same identity: resolve again


def _public_item(raw: Any) -> Any:
    if isinstance(raw, dict):
        return {k: v for k, v in raw.items() if k != "credentials"}
    return raw
