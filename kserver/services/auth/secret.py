"""The JWT signing secret: configured, or generated once and shared through the store."""

from __future__ import annotations

import secrets

from kserver.services.collections import CONFIG
from kserver.storage.port import DuplicateKey, Engine

SECRET_DOC = "auth.jwt_secret"


async def load_secret(engine: Engine, configured: str) -> str:
    """``configured`` if set; else the stored secret, created (512 random bytes, hex) if none exists.

    Concurrent first starts agree: the loser of the ``create`` race reads the winner's secret.
    """
    if configured:
        return configured
    existing = await engine.get(CONFIG, SECRET_DOC)
    if existing is not None:
        return str(existing.source["secret"])
    candidate = secrets.token_hex(512)
    try:
        await engine.create(CONFIG, SECRET_DOC, {"secret": candidate}, durable=True)
    except DuplicateKey:
        winner = await engine.get(CONFIG, SECRET_DOC)
        if winner is None:  # created then deleted meanwhile: nothing sensible to agree on
            raise
        return str(winner.source["secret"])
    return candidate
