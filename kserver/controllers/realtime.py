"""The ``realtime`` controller (subscribe, join, unsubscribe, count, list, publish, validate),
and ``server:metrics``, which reports the realtime counters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kserver.services.metrics import Metrics
from kserver.services.realtime.channels import parse_scope, parse_users
from kserver.services.realtime.hotel import Hotel, now_ms
from kserver.services.realtime.notifications import DocumentChange
from kserver.services.realtime.user_feed import USERS_INDEX
from kserver.wire.catalog import KuzzleError, kerror
from kserver.wire.context import Caller, Context
from kserver.wire.request import Request

Authorize = Callable[[Request, Caller], Awaitable[None]]
"""The router gate's rights check: raises security.rights.* when not allowed."""


class RealtimeController:
    def __init__(self, hotel: Hotel, authorize: Authorize) -> None:
        self.hotel = hotel
        self.authorize = authorize

    async def subscribe(self, request: Request, context: Context) -> dict[str, str]:
        index, collection = request.string("index"), request.string("collection")
        normalized = self.hotel.normalize(index, collection, request.body_object())
        scope = parse_scope(request.optional_string("scope"))
        users = parse_users(request.optional_string("users"))
        self._needs_push(request, context)
        if index == USERS_INDEX:
            await self._may_read_users(request, context.caller)
        subscription = self.hotel.subscribe(
            context.connection, normalized, scope=scope, users=users, volatile=request.volatile
        )
        return {"roomId": subscription.room_id, "channel": subscription.channel}

    async def join(self, request: Request, context: Context) -> dict[str, str]:
        room_id = request.body_field_string("roomId")
        scope = parse_scope(request.optional_string("scope"))
        users = parse_users(request.optional_string("users"))
        self._needs_push(request, context)
        room = self.hotel.room(room_id)
        if room is None:
            raise kerror("core.realtime.room_not_found", room_id)
        await self._may_subscribe(request, context.caller, room.index, room.collection)
        subscription = self.hotel.join(
            context.connection, room_id, scope=scope, users=users, volatile=request.volatile
        )
        return {"roomId": subscription.room_id, "channel": subscription.channel}

    async def unsubscribe(self, request: Request, context: Context) -> dict[str, str]:
        room_id = request.body_field_string("roomId")
        self.hotel.unsubscribe(context.connection, room_id)
        return {"roomId": room_id}

    async def count(self, request: Request, context: Context) -> dict[str, int]:
        return {"count": self.hotel.count(request.body_field_string("roomId"))}

    async def list_(self, request: Request, context: Context) -> dict[str, dict[str, dict[str, int]]]:
        """The rooms of the (index, collection) pairs the caller may subscribe to."""
        out: dict[str, dict[str, dict[str, int]]] = {}
        for index, collections in self.hotel.listing().items():
            for collection, rooms in collections.items():
                try:
                    await self._may_subscribe(request, context.caller, index, collection)
                except KuzzleError:
                    continue
                out.setdefault(index, {})[collection] = rooms
        return out

    async def publish(self, request: Request, context: Context) -> dict[str, bool]:
        index, collection = request.string("index"), request.string("collection")
        body = request.body_object()
        if index == USERS_INDEX:
            raise kerror("api.assert.invalid_argument", "index", f'an index other than "{USERS_INDEX}"')
        source = {**body, "_kuzzle_info": {"author": context.caller.kuid, "createdAt": now_ms()}}
        self.hotel.notify(
            DocumentChange(
                index=index,
                collection=collection,
                action="publish",
                id=request.optional_id(),
                source=source,
                controller="realtime",
                node=self.hotel.node,
                timestamp=_timestamp(request),
                request_id=request.request_id,
                volatile=request.volatile,
                protocol=request.protocol,
            )
        )
        return {"published": True}

    async def validate(self, request: Request, context: Context) -> dict[str, Any]:
        """``document:validate``: kserver has no document validation specs, so any object is valid."""
        request.string("index")
        request.string("collection")
        request.body_object()
        return {"errorMessages": {}, "valid": True}

    def actions(self) -> dict[str, Any]:
        return {
            "subscribe": self.subscribe,
            "join": self.join,
            "unsubscribe": self.unsubscribe,
            "count": self.count,
            "list": self.list_,
            "publish": self.publish,
            "validate": self.validate,
        }

    def _needs_push(self, request: Request, context: Context) -> None:
        if context.connection.push is None:
            raise kerror("api.assert.unsupported_protocol", context.connection.protocol, request.action)

    async def _may_subscribe(self, request: Request, caller: Caller, index: str, collection: str) -> None:
        probe = Request(
            "realtime",
            "subscribe",
            request.request_id,
            request.protocol,
            args={"index": index, "collection": collection},
        )
        await self.authorize(probe, caller)
        if index == USERS_INDEX:
            await self._may_read_users(request, caller)

    async def _may_read_users(self, request: Request, caller: Caller) -> None:
        """``%kserver/users`` carries user documents: reading it needs ``security:searchUsers``."""
        await self.authorize(Request("security", "searchUsers", request.request_id, request.protocol), caller)


class MetricsController:
    """``server:metrics``: Kuzzle's shape plus ``metrics.snapshot()`` (counters for dashboards)."""

    def __init__(self, metrics: Metrics, hotel: Hotel) -> None:
        self.metrics = metrics
        self.hotel = hotel

    async def metrics_(self, request: Request, context: Context) -> dict[str, Any]:
        snapshot = self.metrics.snapshot()
        return {
            "api": {"concurrentRequests": self.metrics.in_flight, "pendingRequests": 0},
            "network": {"connections": dict(self.metrics.connections)},
            "realtime": self.hotel.metrics(),
            **snapshot,
        }

    def actions(self) -> dict[str, Any]:
        return {"metrics": self.metrics_}


def _timestamp(request: Request) -> int:
    """The request's ``timestamp`` argument (Kuzzle lets it override the notification's), else now."""
    value = request.args.get("timestamp")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return now_ms()
