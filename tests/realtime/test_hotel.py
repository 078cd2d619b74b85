"""The rooms service in-process (no I/O): channels, scopes, the matched-rooms memory, limits."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from kserver.services.realtime.channels import channel_name, parse_scope, parse_users
from kserver.services.realtime.hotel import Hotel
from kserver.services.realtime.notifications import DocumentChange
from kserver.services.realtime.user_feed import USERS_COLLECTION, USERS_INDEX, UserFeed, user_change
from kserver.services.user_events import UserEvent
from kserver.wire.catalog import KuzzleError
from kserver.wire.context import Connection


class Inbox:
    """A WebSocket-less connection: pushed frames land in ``frames``."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.connection = Connection("websocket", push=lambda data: self.frames.append(orjson.loads(data)))


def change(action: Any, source: dict[str, Any], id: str | None = "d1", **extra: Any) -> DocumentChange:
    return DocumentChange("i", "c", action, id, source, "document", "node-a", 1, extra=extra)


def test_channel_names_keep_kuzzle_digits_but_split_out_from_none() -> None:
    assert channel_name("r", "all", "none") == "r-311"
    assert channel_name("r", "all", "out") == "r-411"
    assert channel_name("r", "out", "all") == "r-113"
    assert channel_name("r", "none", "in") == "r-21"
    assert (parse_scope(None), parse_users(None)) == ("all", "none")
    with pytest.raises(KuzzleError) as scope_error:
        parse_scope("up")
    assert scope_error.value.id == "core.realtime.invalid_scope"
    with pytest.raises(KuzzleError) as users_error:
        parse_users("everyone")
    assert users_error.value.id == "core.realtime.invalid_users"


def test_update_leaving_a_filter_is_out_and_delete_uses_the_memory() -> None:
    hotel, inbox = Hotel("n"), Inbox()
    normalized = hotel.normalize("i", "c", {"equals": {"k": 1}})
    hotel.subscribe(inbox.connection, normalized, scope="all", users="none", volatile=None)
    assert hotel.deliver(change("create", {"k": 1})) == 1
    assert hotel.deliver(change("update", {"k": 2})) == 1  # left the filter: out
    assert hotel.deliver(change("update", {"k": 3})) == 0  # already out: nothing
    assert hotel.deliver(change("replace", {"k": 1})) == 1  # back in
    assert hotel.deliver(change("delete", {})) == 1  # no source, remembered match: out
    assert [(f["action"], f["scope"]) for f in inbox.frames] == [
        ("create", "in"),
        ("update", "out"),
        ("replace", "in"),
        ("delete", "out"),
    ]
    assert inbox.frames[0]["room"] == f"{normalized.room_id}-311"


def test_matched_memory_is_bounded() -> None:
    hotel, inbox = Hotel("n", matched_cache_size=2), Inbox()
    hotel.subscribe(
        inbox.connection,
        hotel.normalize("i", "c", {"equals": {"k": 1}}),
        scope="out",
        users="none",
        volatile=None,
    )
    for doc_id in ("a", "b", "c"):
        hotel.deliver(change("create", {"k": 1}, id=doc_id))
    hotel.deliver(change("update", {"k": 0}, id="a"))  # forgotten: no out
    hotel.deliver(change("update", {"k": 0}, id="c"))
    assert [f["result"]["_id"] for f in inbox.frames] == ["c"]


def test_room_limit_and_last_unsubscribe_frees_the_room() -> None:
    hotel, inbox = Hotel("n", max_rooms=1), Inbox()
    first = hotel.subscribe(
        inbox.connection, hotel.normalize("i", "c", {}), scope="all", users="none", volatile=None
    )
    with pytest.raises(KuzzleError) as error:
        hotel.subscribe(
            inbox.connection,
            hotel.normalize("i", "c", {"exists": "x"}),
            scope="all",
            users="none",
            volatile=None,
        )
    assert error.value.id == "core.realtime.too_many_rooms"
    hotel.drop_connection(inbox.connection)
    assert hotel.metrics() == {"rooms": 0, "subscriptions": 0}
    assert not hotel.koncorde.has(first.room_id)
    hotel.subscribe(
        inbox.connection, hotel.normalize("i", "c", {"exists": "x"}), scope="all", users="none", volatile=None
    )


def test_notify_feeds_listeners_but_deliver_does_not() -> None:
    hotel = Hotel("n")
    seen: list[DocumentChange] = []
    hotel.on_change.append(seen.append)
    hotel.notify(change("publish", {"a": 1}, id=None))
    hotel.deliver(change("publish", {"a": 2}, id=None))
    assert [c.source for c in seen] == [{"a": 1}]


def test_wants_a_change_only_when_a_room_or_a_listener_can_receive_it() -> None:
    hotel, inbox = Hotel("n"), Inbox()
    assert not hotel.wants("i", "c")
    sub = hotel.subscribe(
        inbox.connection, hotel.normalize("i", "c", {}), scope="all", users="none", volatile=None
    )
    assert hotel.wants("i", "c")
    assert not hotel.wants("i", "other")
    hotel.unsubscribe(inbox.connection, sub.room_id)
    assert not hotel.wants("i", "c")
    hotel.on_change.append(lambda change: None)  # the relay to other nodes
    assert hotel.wants("i", "other")


def test_the_last_room_of_a_collection_takes_its_matches_along() -> None:
    # Changes of an unwatched collection are not notified (wants), so no match memory may outlive
    # its rooms: a room made again from the same filter must not get an "out" for a document it
    # never saw enter.
    hotel, first, second = Hotel("n"), Inbox(), Inbox()
    normalized = hotel.normalize("i", "c", {"equals": {"k": 1}})
    sub = hotel.subscribe(first.connection, normalized, scope="all", users="none", volatile=None)
    assert hotel.deliver(change("create", {"k": 1})) == 1
    hotel.unsubscribe(first.connection, sub.room_id)
    again = hotel.subscribe(second.connection, normalized, scope="all", users="none", volatile=None)
    assert again.room_id == sub.room_id
    assert hotel.deliver(change("update", {"k": 2})) == 0
    assert second.frames == []


def test_the_user_feed_builds_no_notification_nobody_can_receive() -> None:
    hotel, inbox = Hotel("n"), Inbox()
    notified: list[DocumentChange] = []

    def notify(change: DocumentChange) -> int:
        notified.append(change)
        return hotel.notify(change)

    feed = UserFeed(notify, "n", hotel.wants)
    feed.on_user_event(UserEvent("upsert", "u1", {"a": 1}, created=True))
    assert notified == []
    hotel.subscribe(
        inbox.connection,
        hotel.normalize(USERS_INDEX, USERS_COLLECTION, {}),
        scope="all",
        users="none",
        volatile=None,
    )
    feed.on_user_event(UserEvent("upsert", "u1", {"a": 2}, created=False))
    assert [c.source for c in notified] == [{"a": 2}]
    assert [f["result"]["_source"] for f in inbox.frames] == [{"a": 2}]


def test_changes_survive_json_round_trips() -> None:
    original = change("update", {"a": [1, {"b": None}]}, created=False)
    assert DocumentChange.from_json(orjson.loads(orjson.dumps(original.to_json()))) == original
    with pytest.raises(ValueError, match="unknown action"):
        DocumentChange.from_json({**original.to_json(), "action": "explode"})


@pytest.mark.parametrize(
    ("action", "created", "expected"),
    [
        ("upsert", True, "create"),
        ("upsert", False, "update"),
        ("replace", False, "replace"),
        ("delete", None, "delete"),
    ],
)
def test_user_events_map_to_document_actions(action: Any, created: bool | None, expected: str) -> None:
    event = UserEvent(action, "kuid-1", {"profileIds": ["a"]}, created, "author", {"v": 1}, "req-1")
    notified = user_change(event, "node-a", timestamp=5)
    assert (notified.index, notified.collection, notified.action) == ("%kserver", "users", expected)
    assert (notified.id, notified.request_id, notified.volatile, notified.timestamp) == (
        "kuid-1",
        "req-1",
        {"v": 1},
        5,
    )
    assert notified.extra == ({"created": created} if action == "upsert" else {})
