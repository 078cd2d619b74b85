"""security:searchUsers / scrollUsers: every query keyword, from/size/sort, search_after, scroll, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.kclient import KClient, kclient
from tests.security.calls import fails, offset, ok, uid
from tests.server_process import ServerProcess

PEOPLE = [
    ("ada", {"name": "Ada Lovelace", "age": 36, "team": "math", "tags": ["x", "y"]}),
    ("alan", {"name": "Alan Turing", "age": 41, "team": "math", "tags": ["y"]}),
    ("grace", {"name": "Grace Hopper", "age": 85, "team": "navy"}),
    ("linus", {"name": "Linus Torvalds", "age": 54, "team": "kernel", "nick": None}),
    ("barbara", {"name": "Barbara Liskov", "age": 84, "team": "math"}),
]


@pytest.fixture
async def people(secserver: ServerProcess) -> AsyncIterator[tuple[KClient, str, dict[str, str]]]:
    """Five users sharing a fresh ``group`` value; yields (client, group, name → kuid)."""
    group = uid("group")
    async with kclient(secserver.ws_url) as client:
        ids: dict[str, str] = {}
        for name, content in PEOPLE:
            kuid = f"{group}-{name}"
            await ok(
                client,
                "createUser",
                _id=kuid,
                body={"content": {"profileIds": ["default"], "group": group, **content}},
            )
            ids[name] = kuid
        yield client, group, ids


async def found(client: KClient, group: str, query: dict[str, Any], **args: Any) -> list[str]:
    """Names of the users of ``group`` matching ``query``, in result order."""
    scoped = {"bool": {"filter": [{"term": {"group": group}}, query]}}
    result = await ok(client, "searchUsers", body={"query": scoped, "sort": ["_id"]}, **args)
    assert result["total"] == len(result["hits"])
    return [hit["_id"].removeprefix(group + "-") for hit in result["hits"]]


async def test_each_keyword(people: tuple[KClient, str, dict[str, str]]) -> None:
    client, group, ids = people
    assert await found(client, group, {"match_all": {}}) == ["ada", "alan", "barbara", "grace", "linus"]
    assert await found(client, group, {"ids": {"values": [ids["ada"], ids["grace"]]}}) == ["ada", "grace"]
    assert await found(client, group, {"term": {"team": "math"}}) == ["ada", "alan", "barbara"]
    assert await found(client, group, {"term": {"team": {"value": "navy"}}}) == ["grace"]
    assert await found(client, group, {"term": {"tags": "y"}}) == ["ada", "alan"]  # any array element
    assert await found(client, group, {"term": {"_id": ids["alan"]}}) == ["alan"]
    assert await found(client, group, {"terms": {"team": ["navy", "kernel"]}}) == ["grace", "linus"]
    assert await found(client, group, {"match": {"name": "lovelace"}}) == ["ada"]  # case-insensitive
    assert await found(client, group, {"match": {"name": "TUR hop"}}) == [
        "alan",
        "grace",
    ]  # any word, substring
    assert await found(client, group, {"match": {"name": {"query": "liskov"}}}) == ["barbara"]
    assert await found(client, group, {"match": {"age": 36}}) == ["ada"]
    assert await found(client, group, {"range": {"age": {"gte": 41, "lt": 84}}}) == ["alan", "linus"]
    assert await found(client, group, {"range": {"age": {"gt": 84}}}) == ["grace"]
    assert await found(client, group, {"exists": {"field": "tags"}}) == ["ada", "alan"]
    assert await found(client, group, {"exists": {"field": "nick"}}) == []  # null is not a value
    assert await found(client, group, {"prefix": {"name": "Gra"}}) == ["grace"]
    assert await found(client, group, {"prefix": {"name": {"value": "gra"}}}) == []  # prefix is exact


async def test_bool(people: tuple[KClient, str, dict[str, str]]) -> None:
    client, group, _ = people
    math_not_old = {
        "bool": {"must": {"term": {"team": "math"}}, "must_not": [{"range": {"age": {"gt": 80}}}]}
    }
    assert await found(client, group, math_not_old) == ["ada", "alan"]
    either = {"bool": {"should": [{"term": {"team": "navy"}}, {"term": {"team": "kernel"}}]}}
    assert await found(client, group, either) == ["grace", "linus"]
    scored_only = {"bool": {"must": [{"term": {"team": "math"}}], "should": [{"term": {"team": "navy"}}]}}
    assert await found(client, group, scored_only) == ["ada", "alan", "barbara"]
    required = {"bool": {**scored_only["bool"], "minimum_should_match": 1}}
    assert await found(client, group, required) == []
    assert await found(client, group, {"bool": {}}) == ["ada", "alan", "barbara", "grace", "linus"]


async def test_from_size_sort_and_search_after(people: tuple[KClient, str, dict[str, str]]) -> None:
    client, group, _ = people
    query = {"term": {"group": group}}
    by_age = await ok(client, "searchUsers", body={"query": query, "sort": [{"age": "desc"}]})
    assert [hit["_source"]["age"] for hit in by_age["hits"]] == [85, 84, 54, 41, 36]
    page = await ok(
        client,
        "searchUsers",
        body={"query": query, "sort": [{"age": {"order": "asc"}}]},
        size=2,
        **offset(1),
    )
    assert [hit["_source"]["age"] for hit in page["hits"]] == [41, 54]
    assert page["total"] == 5
    after = await ok(
        client, "searchUsers", body={"query": query, "sort": [{"age": "asc"}], "search_after": [54]}, size=10
    )
    assert [hit["_source"]["age"] for hit in after["hits"]] == [84, 85]
    by_team = await ok(client, "searchUsers", body={"query": query, "sort": ["team", {"age": "desc"}]})
    assert [hit["_source"]["name"].split()[0] for hit in by_team["hits"]] == [
        "Linus",
        "Barbara",
        "Alan",
        "Ada",
        "Grace",
    ]


async def test_scroll(people: tuple[KClient, str, dict[str, str]]) -> None:
    client, group, _ = people
    first = await ok(
        client,
        "searchUsers",
        body={"query": {"term": {"group": group}}, "sort": ["age"]},
        size=2,
        scroll="5s",
    )
    assert first["total"] == 5
    assert len(first["hits"]) == 2
    assert isinstance(first["scrollId"], str)
    ages = [hit["_source"]["age"] for hit in first["hits"]]
    for _ in range(2):
        page = await ok(client, "scrollUsers", scrollId=first["scrollId"])
        assert page["total"] == 5
        assert page["scrollId"] == first["scrollId"]
        ages += [hit["_source"]["age"] for hit in page["hits"]]
    assert ages == [36, 41, 54, 84, 85]
    await fails(client, "scrollUsers", "services.storage.unknown_scroll_id", 404, scrollId=first["scrollId"])
    await fails(client, "scrollUsers", "services.storage.unknown_scroll_id", 404, scrollId="nope")
    await fails(
        client, "searchUsers", "services.storage.scroll_duration_too_great", 400, body={}, scroll="2m"
    )
    await fails(client, "searchUsers", "api.assert.invalid_argument", 400, body={}, scroll="soon")


async def test_koncorde(people: tuple[KClient, str, dict[str, str]]) -> None:
    client, group, _ = people
    query = {"and": [{"equals": {"group": group}}, {"range": {"age": {"gte": 80}}}]}
    result = await ok(client, "searchUsers", body={"query": query, "sort": ["age"]}, lang="koncorde")
    assert [hit["_source"]["age"] for hit in result["hits"]] == [84, 85]
    await fails(
        client,
        "searchUsers",
        "api.assert.koncorde_unknown_keyword",
        400,
        body={"query": {"term": {"a": 1}}},
        lang="koncorde",
    )
    await fails(client, "searchUsers", "api.assert.invalid_argument", 400, body={}, lang="sql")


async def test_errors(secserver: ServerProcess) -> None:
    async with kclient(secserver.ws_url) as client:
        await fails(
            client,
            "searchUsers",
            "services.storage.unknown_query_keyword",
            400,
            body={"query": {"equals": {"a": 1}}},
        )
        await fails(
            client,
            "searchUsers",
            "services.storage.invalid_query_keyword",
            400,
            body={"query": {"wildcard": {"a": "x*"}}},
        )
        malformed: list[Any] = [
            {"term": {"a": 1, "b": 2}},
            {"term": {"a": {"nope": 1}}},
            {"range": {"a": {"gt": [1]}}},
            {"bool": {"must": "x"}},
            {"term": {"a": 1}, "match_all": {}},
            {"exists": {"field": 3}},
            [],
        ]
        for query in malformed:
            await fails(
                client, "searchUsers", "services.storage.invalid_search_query", 400, body={"query": query}
            )
        await fails(client, "searchUsers", "services.storage.get_limit_exceeded", 413, body={}, size=10_001)
        await fails(
            client, "searchUsers", "services.storage.invalid_search_query", 400, body={"sort": [{"a": "up"}]}
        )
