"""``eager.start``: a coroutine runs on the caller's stack until it waits, then in a task."""

from __future__ import annotations

import asyncio

import pytest

from kserver.transport import eager


async def test_a_coroutine_that_never_waits_runs_to_the_end_at_once() -> None:
    done: list[str] = []

    async def work() -> None:
        done.append("ran")

    assert eager.start(work()) is None
    assert done == ["ran"]


async def test_a_coroutine_that_waits_on_a_future_is_finished_by_a_task_of_that_loop() -> None:
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


async def test_errors_before_waiting_reach_the_caller_and_after_waiting_the_task() -> None:
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
