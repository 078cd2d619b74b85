"""Run a coroutine eagerly: on the caller's stack until it first waits, as a task only after.

Most requests and most sends finish without ever waiting (the socket is writable,
the rights are cached): a task each would cost more than the work itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def start(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run ``coroutine`` until it finishes (None) or waits (a task that drives it to the end).

    An exception it raises before waiting propagates to the caller.
    """
    try:
        awaited = coroutine.send(None)
    except StopIteration:
        return None
    # The future it waits on knows its loop: asking asyncio for the running loop costs a getpid()
    # system call on Python 3.11, and ensure_future as much again in checks (~1 us per request).
    loop = asyncio.get_running_loop() if awaited is None else awaited.get_loop()
    return loop.create_task(_drive(coroutine, awaited))


async def _drive(coroutine: Coroutine[Any, Any, None], awaited: Any) -> None:
    """Finish ``coroutine``, started by hand and now suspended on ``awaited`` (what asyncio's Task does).

    A coroutine suspends on an asyncio future (which it re-reads, result or error,
    when resumed) or on a bare ``yield`` (``asyncio.sleep(0)``).
    """
    while True:
        if awaited is None:
            await asyncio.sleep(0)
        else:
            awaited._asyncio_future_blocking = False
            # the coroutine reads the outcome (result, error, cancellation) when resumed; a try
            # statement, not contextlib.suppress: its object and two method calls cost 8k
            # instructions per request
            try:  # noqa: SIM105
                await awaited
            except BaseException:
                pass
        try:
            awaited = coroutine.send(None)
        except StopIteration:
            return
