"""``eager.start``: a coroutine runs on the caller's stack until it waits, then resumed by what it awaits."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from kserver.transport import eager


async def test_a_coroutine_that_never_waits_runs_to_the_end_at_once() -> None:
    done: list[str] = []

    async def work() -> None:
        done.append("ran")

    assert eager.start(work()) is None
    assert done == ["ran"]


async def test_a_coroutine_that_waits_on_a_future_is_finished_on_that_futures_loop() -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[int] = loop.create_future()
    seen: list[int] = []

    async def work() -> None:
        seen.append(await gate)
        seen.append(await asyncio.sleep(0, result=2))

    task = eager.start(work())
    assert task is not None
    assert task.get_loop() is loop
    assert seen == []
    gate.set_result(1)
    await task
    assert seen == [1, 2]


async def test_a_bare_yield_is_driven_too() -> None:
    seen: list[str] = []

    async def work() -> None:
        await asyncio.sleep(0)
        seen.append("after")

    task = eager.start(work())
    assert task is not None
    await task
    assert seen == ["after"]


async def test_errors_before_waiting_reach_the_caller_and_after_waiting_whoever_awaits() -> None:
    async def fails_at_once() -> None:
        raise ValueError("now")

    with pytest.raises(ValueError, match="now"):
        eager.start(fails_at_once())

    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise KeyError("later")

    task = eager.start(fails_later())
    assert task is not None
    with pytest.raises(KeyError):
        await task


async def test_a_failed_future_raises_inside_the_coroutine() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    caught: list[str] = []

    async def work() -> None:
        try:
            await gate
        except RuntimeError as exc:
            caught.append(str(exc))

    task = eager.start(work())
    assert task is not None
    gate.set_exception(RuntimeError("store down"))
    await task
    assert caught == ["store down"]


async def test_on_done_is_called_once_it_has_finished_and_awaiting_after_the_end_returns() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    finished: list[eager.Driven] = []

    async def work() -> None:
        await gate

    driven = eager.start(work())
    assert driven is not None
    driven.on_done = finished.append
    await asyncio.sleep(0)
    assert finished == []
    assert not driven.done()
    gate.set_result(None)
    await asyncio.sleep(0)
    assert finished == [driven]
    assert driven.done()
    await driven  # already over: returns at once


async def test_an_error_nobody_awaits_goes_to_the_loops_exception_handler() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:

        async def fails_later() -> None:
            await asyncio.sleep(0)
            raise KeyError("later")

        driven = eager.start(fails_later())
        assert driven is not None
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert driven.done()
        assert [type(context["exception"]) for context in reported] == [KeyError]
        with pytest.raises(KeyError):
            await driven  # still told to whoever awaits later
    finally:
        loop.set_exception_handler(None)


async def test_yielding_something_that_is_not_a_future_raises_inside_the_coroutine() -> None:
    class NotAFuture:
        def __await__(self):  # type: ignore[no-untyped-def]
            yield "not a future"

    caught: list[str] = []

    async def work() -> None:
        try:
            await NotAFuture()
        except RuntimeError as exc:
            caught.append(str(exc))

    driven = eager.start(work())
    assert driven is not None
    await driven
    assert len(caught) == 1
    assert "non-future" in caught[0]


async def test_every_step_runs_in_one_context_of_its_own() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[str] = []

    async def work() -> None:
        token = var.set("set in the first step")  # as PyMongo's timeouts: set, then reset later
        await asyncio.sleep(0)
        seen.append(var.get())
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(gate.set_result, None)
        await gate
        var.reset(token)  # raises ValueError in a context other than the token's
        seen.append(var.get())

    driven = eager.start(work())
    assert driven is not None
    assert var.get() == "unset"  # the caller's context is not the one the steps change
    await driven
    assert seen == ["set in the first step", "unset"]
