"""Password hashing (argon2id, PHC strings) on a bounded thread pool, never on the event loop.

argon2-cffi releases the GIL while hashing, so ``workers`` threads hash about
``workers`` times faster than one (measured by ``bench/login_bench.py``).
Hashes made with other parameters or algorithms verify, and ``needs_upgrade``
tells the caller to store a fresh argon2id hash after the next successful login.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kserver.services.auth import legacy_hashes

ARGON2_PREFIX = "$argon2id$"
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Cost parameters; the defaults in Settings are OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane)."""

    memory_kib: int
    time_cost: int
    parallelism: int


class Passwords:
    """Hashes and verifies passwords on ``workers`` threads (0 = one per core)."""

    def __init__(self, params: Argon2Params, workers: int = 0) -> None:
        self.params = params
        self.workers = workers or os.cpu_count() or 1
        self._argon2 = argon2.PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            type=argon2.Type.ID,
        )
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="kserver-hash")
        self._dummy: str | None = None
        self.verifications = 0  # every verification, including the dummy one; tests count them

    async def _run(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def hash(self, password: str) -> str:
        return await self._run(lambda: self._argon2.hash(password))

    async def verify(self, stored: str, password: str) -> bool:
        """True when ``password`` matches ``stored`` (argon2id PHC, bcrypt or passport-local form)."""
        self.verifications += 1
        return await self._run(lambda: self._verify_blocking(stored, password))

    def _verify_blocking(self, stored: str, password: str) -> bool:
        if stored.startswith(ARGON2_PREFIX):
            try:
                return self._argon2.verify(stored, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
        if stored.startswith(legacy_hashes.BCRYPT_PREFIXES):
            return legacy_hashes.verify_bcrypt(stored, password)
        if stored.startswith(legacy_hashes.PASSPORT_PREFIX):
            return legacy_hashes.verify_passport(stored, password)
        return False

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification (for unknown users: no enumeration by timing)."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_hex(16))
        await self.verify(self._dummy, password)

    def needs_upgrade(self, stored: str) -> bool:
        if not stored.startswith(ARGON2_PREFIX):
            return True
        try:
            return self._argon2.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
