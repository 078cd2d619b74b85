"""Credential actions on existing users: one conditional write of ``credentials.<strategy>`` each.

Every write is ``engine.update(USERS, kuid, {"credentials.<s>": stored}, if_version=v)``,
retried on a concurrent change of the user document. A username another user holds
surfaces from the store as DuplicateKey and becomes ``security.credentials.rejected``
("username already taken", as the upserts service says it).
Changing a password (or imported hash) revokes the user's auth tokens, except ``keep``.
"""

from __future__ import annotations

from typing import Any, Literal

from kserver.services.auth.tokens import Tokens
from kserver.services.collections import USERNAME_PATH, USERS
from kserver.services.security.search import Fields, to_filter
from kserver.services.strategy import Strategies, Strategy
from kserver.storage.filters import And, Eq, Exists
from kserver.storage.port import DuplicateKey, Engine, SortSpec, StorageConflict, Stored
from kserver.wire.catalog import kerror

_ATTEMPTS = 10
_LOCAL_FIELDS = Fields(prefix="", aliases={"username": USERNAME_PATH}, only=frozenset({"username"}))
_SORT_FIELDS = {"username": USERNAME_PATH, "kuid": "_id"}


def _stored(user: Stored, strategy: str) -> dict[str, Any] | None:
    credentials = user.source.get("credentials")
    if not isinstance(credentials, dict):
        return None
    value = credentials.get(strategy)
    return value if isinstance(value, dict) else None


def _taken(strategy: Strategy, error: DuplicateKey, stored: dict[str, Any]) -> Exception:
    if error.path == USERNAME_PATH:
        return kerror("security.credentials.rejected", "username already taken")
    return kerror("security.credentials.rejected", f"duplicate value at {error.path}")


class Credentials:
    def __init__(self, engine: Engine, strategies: Strategies, tokens: Tokens) -> None:
        self.engine = engine
        self.strategies = strategies
        self.tokens = tokens

    async def _user(self, kuid: str) -> Stored:
        user = await self.engine.get(USERS, kuid)
        if user is None:
            raise kerror("security.user.not_found", kuid)
        return user

    async def create(self, name: str, kuid: str, payload: dict[str, Any]) -> dict[str, Any]:
        strategy = self.strategies.get(name)
        for _ in range(_ATTEMPTS):
            user = await self._user(kuid)
            if _stored(user, name) is not None:
                raise kerror("security.credentials.rejected", f'user "{kuid}" already has {name} credentials')
            stored = await strategy.prepare(kuid, payload, current=None)
            if await self._write(strategy, user, stored):
                return strategy.info(kuid, stored)
        raise kerror("services.storage.too_many_changes", kuid)

    async def update(
        self, name: str, kuid: str, payload: dict[str, Any], *, keep: str | None = None
    ) -> dict[str, Any]:
        """Change credentials; a new secret revokes the user's auth tokens except token id ``keep``."""
        strategy = self.strategies.get(name)
        for _ in range(_ATTEMPTS):
            user = await self._user(kuid)
            current = _stored(user, name)
            if current is None:
                raise kerror("security.credentials.rejected", f'user "{kuid}" has no {name} credentials')
            stored = await strategy.prepare(kuid, payload, current=current)
            if await self._write(strategy, user, stored):
                if stored.get("hash") != current.get("hash"):
                    await self.tokens.revoke_user(kuid, keep=keep)
                return strategy.info(kuid, stored)
        raise kerror("services.storage.too_many_changes", kuid)

    async def _write(self, strategy: Strategy, user: Stored, stored: dict[str, Any]) -> bool:
        """True once written; False when the user changed meanwhile (the caller retries)."""
        try:
            written = await self.engine.update(
                USERS,
                user.id,
                {f"credentials.{strategy.name}": stored},
                if_version=user.version,
                durable=True,
            )
        except DuplicateKey as error:
            raise _taken(strategy, error, stored) from None
        except StorageConflict:
            return False
        if written is None:
            raise kerror("security.user.not_found", user.id)
        return True

    async def delete(self, name: str, kuid: str) -> None:
        self.strategies.get(name)
        for _ in range(_ATTEMPTS):
            user = await self._user(kuid)
            if _stored(user, name) is None:
                raise kerror("security.credentials.rejected", f'user "{kuid}" has no {name} credentials')
            try:
                done = await self.engine.update(
                    USERS,
                    kuid,
                    {},
                    unset_paths=[f"credentials.{name}"],
                    if_version=user.version,
                    durable=True,
                )
            except StorageConflict:
                continue
            if done is None:
                raise kerror("security.user.not_found", kuid)
            return
        raise kerror("services.storage.too_many_changes", kuid)

    async def exists(self, name: str, kuid: str) -> bool:
        self.strategies.get(name)
        user = await self.engine.get(USERS, kuid)
        return user is not None and _stored(user, name) is not None

    async def info(self, name: str, kuid: str) -> dict[str, Any]:
        """The public view (``{username, kuid}``), ``{}`` when the user has none."""
        strategy = self.strategies.get(name)
        user = await self.engine.get(USERS, kuid)
        stored = _stored(user, name) if user is not None else None
        return {} if stored is None else strategy.info(kuid, stored)

    async def info_by_login(self, name: str, login: str) -> dict[str, Any]:
        """``getCredentialsById``: the credentials whose login name is ``login``, or ``{}``."""
        strategy = self.strategies.get(name)
        key = strategy.login_key({"username": login})
        if key is None:
            return {}
        page = await self.engine.search(USERS, Eq(key[0], key[1]), limit=1)
        if not page.hits:
            return {}
        stored = _stored(page.hits[0], name)
        return {} if stored is None else strategy.info(page.hits[0].id, stored)

    async def validate(self, name: str, kuid: str | None, payload: dict[str, Any]) -> bool:
        """True when ``payload`` could be stored for ``kuid`` (or for a new user when None)."""
        strategy = self.strategies.get(name)
        user = await self.engine.get(USERS, kuid) if kuid is not None else None
        current = _stored(user, name) if user is not None else None
        stored = await strategy.prepare(kuid or "", payload, current=current)
        key = strategy.login_key({"username": stored.get("username")})
        if key is not None:
            page = await self.engine.search(USERS, Eq(key[0], key[1]), limit=1)
            if page.hits and page.hits[0].id != kuid:
                raise kerror("security.credentials.rejected", "username already taken")
        return True

    async def search(self, name: str, body: dict[str, Any], *, offset: int, limit: int) -> dict[str, Any]:
        """``searchUsersByCredentials`` for ``local``: ``{hits: [{username, kuid}], total}``."""
        strategy = self.strategies.get(name)
        if name != "local":
            raise kerror("plugin.strategy.missing_optional_method", "search", name)
        query = And((Exists(USERNAME_PATH), to_filter(body.get("query"), _LOCAL_FIELDS)))
        sort = _sort(body.get("sort"))
        page = await self.engine.search(USERS, query, sort=sort, offset=offset, limit=limit)
        hits = [
            strategy.info(doc.id, stored) for doc in page.hits if (stored := _stored(doc, name)) is not None
        ]
        return {"hits": hits, "total": page.total}


def _sort(spec: Any) -> SortSpec:
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    out: list[tuple[str, Literal[1, -1]]] = []
    for item in items:
        if isinstance(item, str):
            name, order = item, "asc"
        elif isinstance(item, dict) and len(item) == 1:
            ((name, order),) = item.items()
            if isinstance(order, dict):
                order = order.get("order", "asc")
        else:
            raise kerror("api.assert.invalid_argument", "body.sort", "sort on username or kuid")
        if name not in _SORT_FIELDS or order not in ("asc", "desc"):
            raise kerror("api.assert.invalid_argument", "body.sort", "sort on username or kuid")
        out.append((_SORT_FIELDS[name], 1 if order == "asc" else -1))
    return out
