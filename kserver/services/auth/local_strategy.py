"""The ``local`` strategy: a unique username and an argon2id password hash.

Stored object (``credentials.local`` of the user document): ``{"username", "hash"}``.
The store enforces username uniqueness (unique path); ``prepare`` only validates.
``prepare`` also accepts ``hash`` instead of ``password`` to import users: an argon2id
PHC string, a bcrypt hash, or a passport-local document (an object with ``userPassword``,
``userSalt``... either under ``hash`` or at the top level). Such hashes are verified at
login and replaced by an argon2id hash on the next successful one.
"""

from __future__ import annotations

from typing import Any

import argon2
from argon2.exceptions import InvalidHashError

from kserver.services.auth import legacy_hashes
from kserver.services.auth.passwords import ARGON2_PREFIX, Passwords
from kserver.services.collections import USERNAME_PATH
from kserver.wire.catalog import kerror

MAX_USERNAME_LENGTH = 256


def _imported_hash(payload: dict[str, Any]) -> str | None:
    """The stored form of an imported hash, None when the payload imports none."""
    value = payload.get("hash")
    if value is None and "userPassword" in payload:
        value = {key: payload[key] for key in legacy_hashes.PASSPORT_FIELDS if key in payload}
    if value is None:
        return None
    if isinstance(value, dict):
        return legacy_hashes.passport_hash(value)
    if not isinstance(value, str):
        raise kerror("api.assert.invalid_type", "hash", "string or object")
    if value.startswith(ARGON2_PREFIX):
        try:
            argon2.extract_parameters(value)
        except InvalidHashError:
            raise kerror("security.credentials.rejected", "malformed argon2id hash") from None
        return value
    if value.startswith(legacy_hashes.BCRYPT_PREFIXES):
        legacy_hashes.check_bcrypt(value)
        return value
    raise kerror(
        "security.credentials.rejected", "unsupported hash format (argon2id, bcrypt or passport-local)"
    )


class LocalStrategy:
    name = "local"
    fields = ["username", "password"]

    def __init__(self, passwords: Passwords) -> None:
        self.passwords = passwords

    async def prepare(
        self, kuid: str, payload: dict[str, Any], *, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise kerror("api.assert.invalid_type", "body", "object")
        if "kuid" in payload:
            raise kerror("security.credentials.rejected", "kuid cannot be specified in credentials")
        username = payload.get("username")
        if username is None and current is not None:
            username = current.get("username")
        if username is None:
            raise kerror("api.assert.missing_argument", "username")
        if not isinstance(username, str):
            raise kerror("api.assert.invalid_type", "username", "string")
        if not username.strip():
            raise kerror("api.assert.empty_argument", "username")
        if len(username) > MAX_USERNAME_LENGTH:
            raise kerror("security.credentials.rejected", "username is too long")
        password = payload.get("password")
        imported = _imported_hash(payload)
        if password is not None and imported is not None:
            raise kerror("api.assert.mutually_exclusive", "password", "hash")
        if password is not None:
            if not isinstance(password, str):
                raise kerror("api.assert.invalid_type", "password", "string")
            if not password:
                raise kerror("api.assert.empty_argument", "password")
            return {"username": username, "hash": await self.passwords.hash(password)}
        if imported is not None:
            return {"username": username, "hash": imported}
        if current is None or "hash" not in current:
            raise kerror("api.assert.missing_argument", "password")
        if payload.get("username") is None:
            raise kerror("api.assert.missing_argument", "username or password")
        return {"username": username, "hash": current["hash"]}

    def info(self, kuid: str, stored: dict[str, Any]) -> dict[str, Any]:
        return {"username": stored.get("username"), "kuid": kuid}

    async def verify(self, stored: dict[str, Any], payload: dict[str, Any]) -> bool:
        password = payload.get("password")
        hashed = stored.get("hash")
        if not isinstance(password, str) or not password or not isinstance(hashed, str):
            return False
        return await self.passwords.verify(hashed, password)

    def login_key(self, payload: dict[str, Any]) -> tuple[str, Any] | None:
        username = payload.get("username")
        if not isinstance(username, str) or not username:
            return None
        return (USERNAME_PATH, username)

    # ---- login hardening (not part of the Strategy contract) -----------------------------
    async def verify_unknown(self, payload: dict[str, Any]) -> None:
        """Spend what ``verify`` spends, for a login whose user does not exist."""
        password = payload.get("password")
        await self.passwords.verify_dummy(password if isinstance(password, str) else "")

    async def upgraded(self, stored: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any] | None:
        """After a successful ``verify``: the object to store if the hash is outdated, else None."""
        hashed = stored.get("hash")
        password = payload.get("password")
        if not isinstance(hashed, str) or not isinstance(password, str):
            return None
        if not self.passwords.needs_upgrade(hashed):
            return None
        return {**stored, "hash": await self.passwords.hash(password)}
