"""Channels: how one subscriber of a room wants its notifications (scope, users).

A channel name is ``<roomId>-<digits>``: users (all 1, in 2, none 3, out 4),
cluster (always 1), scope (all 1, in 2, out 3, none: no digit). Kuzzle gives
``users: "out"`` and ``"none"`` the same digit 3, so those two subscriptions
share one channel configured by whichever came first; here ``out`` gets 4.
``none`` keeps 3 so the SDK's default subscription (users none, scope all)
gets Kuzzle's usual ``<roomId>-311``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kserver.wire.catalog import kerror
from kserver.wire.context import Connection

Scope = Literal["all", "in", "out", "none"]
Users = Literal["all", "in", "out", "none"]
Direction = Literal["in", "out"]

_USERS_DIGIT: dict[str, str] = {"all": "1", "in": "2", "none": "3", "out": "4"}
_SCOPE_DIGIT: dict[str, str] = {"all": "1", "in": "2", "out": "3", "none": ""}
_SCOPES: dict[str, Scope] = {"all": "all", "in": "in", "out": "out", "none": "none"}
_USERS: dict[str, Users] = {"all": "all", "in": "in", "out": "out", "none": "none"}


def parse_scope(value: str | None) -> Scope:
    """``None`` = "all"; anything but all/in/out/none raises core.realtime.invalid_scope."""
    if value is None:
        return "all"
    scope = _SCOPES.get(value)
    if scope is None:
        raise kerror("core.realtime.invalid_scope")
    return scope


def parse_users(value: str | None) -> Users:
    """``None`` = "none"; anything but all/in/out/none raises core.realtime.invalid_users."""
    if value is None:
        return "none"
    users = _USERS.get(value)
    if users is None:
        raise kerror("core.realtime.invalid_users")
    return users


def channel_name(room_id: str, scope: Scope, users: Users) -> str:
    return f"{room_id}-{_USERS_DIGIT[users]}1{_SCOPE_DIGIT[scope]}"


@dataclass(slots=True, eq=False)
class Channel:
    """The connections of one room sharing one (scope, users) configuration."""

    name: str
    scope: Scope
    users: Users
    connections: dict[str, Connection] = field(default_factory=dict)
    tail: bytes = b""
    """``,"room":"<name>"}``: what replaces a serialised notification's closing brace."""

    def __post_init__(self) -> None:
        self.tail = b',"room":"' + self.name.encode() + b'"}'

    def wants_document(self, scope: Direction) -> bool:
        return self.scope == "all" or self.scope == scope

    def wants_user(self, user: Direction) -> bool:
        return self.users == "all" or self.users == user
