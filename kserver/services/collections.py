"""The collections kserver stores, and the layout of their documents.

``users``: ``{"content": {profileIds, ...free content, _kuzzle_info},
"credentials": {"local": {"username", "hash"}}}`` — a user and its credentials
are one document, so every change to both is one atomic write on every engine.
Unique paths: the local username and every configured identity key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kserver.storage.port import CollectionSpec, Stored

USERS = "users"
PROFILES = "profiles"
ROLES = "roles"
TOKENS = "tokens"
API_KEYS = "api_keys"
CONFIG = "config"

USERNAME_PATH = "credentials.local.username"


def identity_path(key: str) -> str:
    return f"content.{key}"


def collection_specs(identity_keys: Sequence[str] = ()) -> list[CollectionSpec]:
    return [
        CollectionSpec(USERS, unique_paths=(USERNAME_PATH, *(identity_path(k) for k in identity_keys))),
        CollectionSpec(PROFILES),
        CollectionSpec(ROLES),
        CollectionSpec(TOKENS),
        CollectionSpec(API_KEYS),
        CollectionSpec(CONFIG),
    ]


def public_source(stored: Stored) -> dict[str, Any]:
    """A user's ``_source``: its content, never its credentials."""
    content: dict[str, Any] = stored.source.get("content", {})
    return content
