"""Realtime: Koncorde rooms and subscriptions, notifications, live user events, the Redis relay.

See README.md in this package.
"""

from kserver.services.realtime.hotel import Hotel, Subscription
from kserver.services.realtime.notifications import DocumentChange
from kserver.services.realtime.relay import RedisRelay
from kserver.services.realtime.user_feed import USERS_COLLECTION, USERS_INDEX, UserFeed, user_change

__all__ = [
    "USERS_COLLECTION",
    "USERS_INDEX",
    "DocumentChange",
    "Hotel",
    "RedisRelay",
    "Subscription",
    "UserFeed",
    "user_change",
]
