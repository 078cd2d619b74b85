"""What every reply to hostile input must look like."""

from __future__ import annotations

from typing import Any

from kserver.wire.catalog import catalog


def check_envelope(reply: Any, *, transport: str) -> None:
    """A well-formed Kuzzle envelope; an error carries a catalogued id, code and status, never a stack.

    A 500 ``core.fatal.unexpected_error`` means an exception escaped a handler:
    hostile input must always be answered by a specific error.
    """
    assert isinstance(reply, dict), reply
    if reply == {"p": 2}:
        return
    assert isinstance(reply.get("requestId"), str), reply
    assert isinstance(reply.get("status"), int), reply
    assert "node" in reply, reply
    if transport == "http":
        assert "room" not in reply
    error = reply.get("error")
    if error is None:
        assert reply["status"] in (200, 206), reply
        return
    assert isinstance(error, dict), reply
    assert error["id"] in catalog(), error
    definition = catalog()[error["id"]]
    assert error["code"] == definition.code, error
    assert error["status"] == definition.status == reply["status"], error
    assert isinstance(error["message"], str), error
    assert "stack" not in error, error
    assert "Traceback" not in error["message"], error
    assert error["id"] != "core.fatal.unexpected_error", f"unhandled exception: {reply}"
