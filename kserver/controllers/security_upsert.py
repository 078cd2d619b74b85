"""``security:upsertUser`` and ``security:mUpsertUsers``: atomic upserts, single and batched.

Over HTTP a creation sets ``Location: /users/<_id>``; with ``Prefer: return=minimal``
the answer is ``201 Created`` (insert) or ``204 No Content`` (update) without a
body. Without that header the Kuzzle envelope (200) is kept, so SDKs work unchanged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kserver.services.upserts import UpsertItem, UpsertResult, UserUpserts, validate_item
from kserver.wire.catalog import KuzzleError, kerror
from kserver.wire.context import Context
from kserver.wire.envelope import Answer
from kserver.wire.request import Request


class UpsertController:
    def __init__(self, upserts: UserUpserts, *, batch_max: int) -> None:
        self.upserts = upserts
        self.batch_max = batch_max

    async def upsert_user(self, request: Request, context: Context) -> Answer | dict[str, Any]:
        item = validate_item(request.body_object(), id=request.optional_id())
        result = await self.upserts.upsert(
            item,
            author=context.caller.kuid,
            durable=request.refresh() == "wait_for",
            retries=request.retry_on_conflict(),
            volatile=request.volatile,
            request_id=request.request_id,
        )
        return _http_answer(request, result)

    async def m_upsert_users(self, request: Request, context: Context) -> dict[str, list[dict[str, Any]]]:
        users = request.body_field_array("users")
        assert users is not None
        if len(users) > self.batch_max:
            raise kerror("services.storage.write_limit_exceeded", self.batch_max)
        items: list[UpsertItem | KuzzleError] = []
        for index, raw in enumerate(users):
            try:
                raw_id = raw.get("_id") if isinstance(raw, dict) else None
                if raw_id is not None and (not isinstance(raw_id, str) or not raw_id):
                    raise kerror("api.assert.invalid_type", f"users[{index}]._id", "string")
                items.append(validate_item(raw, id=raw_id, where=f"users[{index}]"))
            except KuzzleError as error:
                items.append(error)
        return await self.upserts.upsert_many(
            items,
            users,
            author=context.caller.kuid,
            durable=request.refresh() == "wait_for",
            retries=request.retry_on_conflict(),
            volatile=request.volatile,
            request_id=request.request_id,
        )

    def actions(self) -> dict[str, Any]:
        return {"upsertUser": self.upsert_user, "mUpsertUsers": self.m_upsert_users}


def _http_answer(request: Request, result: UpsertResult) -> Answer | dict[str, Any]:
    """The result; over HTTP, an Answer with HTTP's hints."""
    result_json = {"_id": result.id, "_source": result.source, "created": result.created}
    headers = request.http_headers
    if headers is None:
        return result_json
    answer = Answer(result_json)
    if result.created:
        answer.http_headers["Location"] = f"/users/{quote(result.id, safe='')}"
    prefer = headers.get("prefer", "")
    if "return=minimal" in prefer.replace(" ", "").lower():
        answer.http_status = 201 if result.created else 204
        answer.empty_http_body = True
        answer.http_headers["Preference-Applied"] = "return=minimal"
    return answer
