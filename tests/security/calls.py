"""Security-controller calls for the tests: ``ok`` returns the result, ``fails`` the error object."""

from __future__ import annotations

import itertools
from typing import Any

from tests.kclient import KClient

_n = itertools.count()


def uid(prefix: str) -> str:
    """An id unique within the test session, so tests sharing a server never collide."""
    return f"{prefix}-{next(_n)}"


async def ok(client: KClient, action: str, controller: str = "security", **args: Any) -> Any:
    reply = await client.query({"controller": controller, "action": action, **args})
    assert reply["status"] == 200, reply["error"]
    return reply["result"]


async def fails(
    client: KClient, action: str, error_id: str, status: int, controller: str = "security", **args: Any
) -> dict[str, Any]:
    reply = await client.query({"controller": controller, "action": action, **args})
    error: dict[str, Any] = reply["error"]
    assert error is not None, reply["result"]
    assert (error["id"], reply["status"]) == (error_id, status), error
    return error


async def new_user(client: KClient, kuid: str | None = None, **content: Any) -> str:
    """Create a user with profile ``default`` (unless ``profileIds`` is given); returns its kuid."""
    body = {"content": {"profileIds": ["default"], **content}}
    args: dict[str, Any] = {"body": body}
    if kuid is not None:
        args["_id"] = kuid
    result = await ok(client, "createUser", **args)
    created: str = result["_id"]
    return created


def offset(n: int) -> dict[str, Any]:
    """The ``from`` argument (a Python keyword)."""
    return {"from": n}
