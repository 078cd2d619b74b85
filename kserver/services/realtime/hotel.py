"""Rooms, subscriptions and delivery (Kuzzle's HotelClerk and Notifier) for one node.

A room is a normalised Koncorde filter on one (index, collection); its id is
Koncorde's deterministic room id, so identical filters share one room and
room ids survive restarts. Each subscriber sits in one channel of the room per
(scope, users) configuration it asked for (``channels.py``).

Delivery never waits: ``Connection.push`` queues a frame and returns, so a slow
subscriber never holds back the publisher or the other subscribers.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kserver.koncorde import Koncorde, KoncordeError, NormalizedFilter
from kserver.services.realtime.channels import Channel, Direction, Scope, Users, channel_name
from kserver.services.realtime.notifications import (
    DocumentChange,
    document_notification,
    frame,
    user_notification,
)
from kserver.wire.catalog import KuzzleError, kerror
from kserver.wire.context import Connection

log = logging.getLogger("kserver.realtime")


def now_ms() -> int:
    return int(time.time() * 1000)


def koncorde_error(error: KoncordeError) -> KuzzleError:
    """The api.assert.koncorde_* error for an invalid filter."""
    if error.kind == "unknown_keyword":
        return kerror("api.assert.koncorde_unknown_keyword", error.keyword or error.message)
    if error.kind == "restricted_keyword":
        return kerror("api.assert.koncorde_restricted_keyword", "keyword", error.keyword or error.message)
    return kerror("api.assert.koncorde_dsl_error", error.message)


@dataclass(slots=True, eq=False)
class _Member:
    connection: Connection
    volatile: dict[str, Any] | None
    channels: set[str] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class Room:
    id: str
    index: str
    collection: str
    channels: dict[str, Channel] = field(default_factory=dict)
    members: dict[str, _Member] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.members)


@dataclass(frozen=True, slots=True)
class Subscription:
    room_id: str
    channel: str


class Hotel:
    """The rooms of this node. Not thread-safe: use it from the event loop only.

    ``on_change`` listeners get every document change given to ``notify`` (the
    cross-node relay listens there); ``deliver`` only delivers locally.
    """

    def __init__(
        self,
        node: str,
        *,
        max_rooms: int = 1_000_000,
        max_conditions: int = 100,
        matched_cache_size: int = 100_000,
        max_rooms_per_connection: int = 0,
    ) -> None:
        self.node = node
        self.max_rooms = max_rooms
        self.max_rooms_per_connection = max_rooms_per_connection
        self.koncorde = Koncorde(max_conditions=max_conditions)
        self.on_change: list[Callable[[DocumentChange], None]] = []
        self.delivered = 0
        self._rooms: dict[str, Room] = {}
        self._by_connection: dict[str, set[str]] = {}
        self._matched: OrderedDict[tuple[str, str, str], frozenset[str]] = OrderedDict()
        self._matched_cache_size = matched_cache_size

    # ---- subscriptions -------------------------------------------------------------
    def normalize(self, index: str, collection: str, filters: object) -> NormalizedFilter:
        """Raises api.assert.koncorde_* for an invalid filter."""
        try:
            return self.koncorde.normalize(index, collection, filters)
        except KoncordeError as error:
            raise koncorde_error(error) from None

    def subscribe(
        self,
        connection: Connection,
        normalized: NormalizedFilter,
        *,
        scope: Scope,
        users: Users,
        volatile: dict[str, Any] | None,
    ) -> Subscription:
        """Enter the filter's room (created if new); raises core.realtime.too_many_rooms."""
        self._check_quota(connection, normalized.room_id)
        room = self._rooms.get(normalized.room_id)
        if room is None:
            if self.max_rooms > 0 and len(self._rooms) >= self.max_rooms:
                raise kerror("core.realtime.too_many_rooms")
            self.koncorde.store(normalized)
            room = self._rooms[normalized.room_id] = Room(
                normalized.room_id, normalized.index, normalized.collection
            )
        return self._enter(room, connection, scope, users, volatile, "subscribe")

    def join(
        self,
        connection: Connection,
        room_id: str,
        *,
        scope: Scope,
        users: Users,
        volatile: dict[str, Any] | None,
    ) -> Subscription:
        """Enter an existing room; raises core.realtime.room_not_found or too_many_rooms."""
        room = self._rooms.get(room_id)
        if room is None:
            raise kerror("core.realtime.room_not_found", room_id)
        self._check_quota(connection, room_id)
        return self._enter(room, connection, scope, users, volatile, "join")

    def _check_quota(self, connection: Connection, room_id: str) -> None:
        """A connection may hold ``max_rooms_per_connection`` rooms (0: any number)."""
        rooms = self._by_connection.get(connection.id)
        if (
            self.max_rooms_per_connection > 0
            and rooms is not None
            and room_id not in rooms
            and len(rooms) >= self.max_rooms_per_connection
        ):
            raise kerror("core.realtime.too_many_rooms")

    def room(self, room_id: str) -> Room | None:
        return self._rooms.get(room_id)

    def unsubscribe(self, connection: Connection, room_id: str, *, notify: bool = True) -> None:
        """Leave every channel of a room; raises core.realtime.not_subscribed."""
        room = self._rooms.get(room_id)
        member = room.members.get(connection.id) if room is not None else None
        if room is None or member is None:
            raise kerror("core.realtime.not_subscribed", connection.id, room_id)
        for name in member.channels:
            channel = room.channels[name]
            del channel.connections[connection.id]
            if not channel.connections:
                del room.channels[name]
        del room.members[connection.id]
        rooms = self._by_connection[connection.id]
        rooms.discard(room_id)
        if not rooms:
            del self._by_connection[connection.id]
        if not room.members:
            del self._rooms[room_id]
            self.koncorde.remove(room_id)
            if not self.koncorde.watches(room.index, room.collection):
                self._forget_matches(room.index, room.collection)
            return
        if notify:
            self._notify_user(room, "out", member.volatile, "unsubscribe", connection.protocol)

    def drop_connection(self, connection: Connection) -> None:
        """End every subscription of a connection (it closed, or its token expired)."""
        for room_id in list(self._by_connection.get(connection.id, ())):
            self.unsubscribe(connection, room_id)

    def count(self, room_id: str) -> int:
        """Connections in the room on this node; 0 for an unknown room."""
        room = self._rooms.get(room_id)
        return room.count if room is not None else 0

    def listing(self) -> dict[str, dict[str, dict[str, int]]]:
        """``{index: {collection: {roomId: count}}}``."""
        out: dict[str, dict[str, dict[str, int]]] = {}
        for room in self._rooms.values():
            out.setdefault(room.index, {}).setdefault(room.collection, {})[room.id] = room.count
        return out

    def metrics(self) -> dict[str, int]:
        """Kuzzle's ``realtime`` metrics: rooms, and connections holding subscriptions."""
        return {"rooms": len(self._rooms), "subscriptions": len(self._by_connection)}

    def _forget_matches(self, index: str, collection: str) -> None:
        """Drop what documents of a collection matched: its last room is gone (``wants`` turns
        False and its changes are no longer notified, so nothing would ever update these)."""
        for key in [key for key in self._matched if key[0] == index and key[1] == collection]:
            del self._matched[key]

    # ---- notifications ---------------------------------------------------------------
    def wants(self, index: str, collection: str) -> bool:
        """Whether a change on this collection can reach anyone: a room here, or an ``on_change``
        listener (the relay to other nodes). When not, its notification need not be built."""
        return bool(self.on_change) or self.koncorde.watches(index, collection)

    def notify(self, change: DocumentChange) -> int:
        """Deliver ``change`` here and hand it to the ``on_change`` listeners; returns frames pushed."""
        pushed = self.deliver(change)
        for listener in self.on_change:
            try:
                listener(change)
            except Exception:
                log.exception("realtime change listener failed")
        return pushed

    def deliver(self, change: DocumentChange) -> int:
        """Push ``change`` to the matching channels of this node; returns frames pushed.

        Scopes as Kuzzle: create/publish => ``in`` to matching rooms; update/replace
        => ``in`` to matching rooms, ``out`` to rooms the document matched at its
        previous notification but not now; delete => ``out``.
        """
        matched = frozenset(self.koncorde.test(change.index, change.collection, change.source, change.id))
        entering: Iterable[str] = matched
        leaving: Iterable[str] = ()
        if change.id is not None and change.action != "publish":
            key = (change.index, change.collection, change.id)
            previous = self._matched.pop(key, frozenset())
            if change.action == "delete":
                entering, leaving = (), matched | previous
            else:
                leaving = previous - matched
                if matched:
                    self._matched[key] = matched
                    if len(self._matched) > self._matched_cache_size:
                        self._matched.popitem(last=False)
        pushed = self._push_document(change, "in", entering)
        pushed += self._push_document(change, "out", leaving)
        self.delivered += pushed
        return pushed

    def _push_document(self, change: DocumentChange, scope: Direction, room_ids: Iterable[str]) -> int:
        payload: bytes | None = None
        pushed = 0
        for room_id in room_ids:
            room = self._rooms.get(room_id)
            if room is None:
                continue
            for channel in room.channels.values():
                if not channel.wants_document(scope):
                    continue
                if payload is None:
                    payload = document_notification(change, scope)
                pushed += _push(channel, frame(payload, channel.tail))
        return pushed

    def _enter(
        self,
        room: Room,
        connection: Connection,
        scope: Scope,
        users: Users,
        volatile: dict[str, Any] | None,
        action: str,
    ) -> Subscription:
        name = channel_name(room.id, scope, users)
        member = room.members.get(connection.id)
        if member is None:
            self._notify_user(room, "in", volatile, action, connection.protocol, count=room.count + 1)
            member = room.members[connection.id] = _Member(connection, volatile)
            self._by_connection.setdefault(connection.id, set()).add(room.id)
        channel = room.channels.get(name)
        if channel is None:
            channel = room.channels[name] = Channel(name, scope, users)
        channel.connections[connection.id] = connection
        member.channels.add(name)
        return Subscription(room.id, name)

    def _notify_user(
        self,
        room: Room,
        user: Direction,
        volatile: dict[str, Any] | None,
        action: str,
        protocol: str,
        *,
        count: int | None = None,
    ) -> None:
        """Tell the room's current members (channels with users all or ``user``)."""
        payload: bytes | None = None
        for channel in room.channels.values():
            if not channel.wants_user(user):
                continue
            if payload is None:
                payload = user_notification(
                    user=user,
                    count=room.count if count is None else count,
                    node=self.node,
                    timestamp=now_ms(),
                    volatile=volatile,
                    index=room.index,
                    collection=room.collection,
                    action=action,
                    protocol=protocol,
                )
            _push(channel, frame(payload, channel.tail))


def _push(channel: Channel, data: bytes) -> int:
    pushed = 0
    for connection in channel.connections.values():
        if connection.push is not None:
            connection.push(data)
            pushed += 1
    return pushed
