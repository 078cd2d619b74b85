"""Run a coroutine eagerly: on the caller's stack until it first waits, then driven by what it waits on.

Most requests and most sends finish without ever waiting (the socket is writable,
the rights are cached): a task each would cost more than the work itself. One that
does wait (every write waits for its group commit) is resumed straight from the
callback of the future it waits on: what an ``asyncio.Task`` does, without the Task
(its creation, registration in asyncio's weak set of tasks, the extra loop
iteration of its first step, its done callbacks): 12.9k instructions less per upsert.
As with a Task, every step runs in one context of its own, a copy of the caller's made
at the start: a context variable set in one step and reset (with its token) in a later
one works, as PyMongo's timeouts do it, and the caller's context never sees either.

What a Task does and a ``Driven`` coroutine does not: ``cancel()`` and
``asyncio.current_task()`` (nothing on the request path uses them).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine, Generator, Iterator
from typing import Any, Final

_DONE: Final = object()
"""What ``next(steps, _DONE)`` returns once the coroutine has returned: ``send(None)`` would raise
StopIteration instead, and a caught exception costs compiled code a traceback entry (a code and a
frame object, about 2,000 instructions per request)."""


class Driven:
    """A coroutine that waits, resumed by the callbacks of what it waits on until it returns.

    ``await driven`` waits for the end (and raises what the coroutine raised); ``on_done`` is
    called with it once it has finished.
    """

    __slots__ = ("_context", "_coroutine", "_error", "_finished", "_loop", "_steps", "_waiter", "on_done")

    def __init__(
        self,
        coroutine: Coroutine[Any, Any, None],
        steps: Iterator[Any],
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context,
    ) -> None:
        self._coroutine = coroutine
        self._steps = steps
        self._loop = loop
        self._context = context
        self._finished = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.on_done: Callable[[Driven], None] | None = None

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def done(self) -> bool:
        return self._finished

    def __await__(self) -> Generator[Any, None, None]:
        waiter = self._waiter
        if waiter is None:
            waiter = self._waiter = self._loop.create_future()
            if self._finished:
                self._settle(waiter)
        return waiter.__await__()

    def _wait_on(self, awaited: Any) -> None:
        """Resume the coroutine once ``awaited`` (what it yielded) is done."""
        if awaited is None:  # a bare yield: asyncio.sleep(0)
            self._loop.call_soon(self._step, context=self._context)
        elif getattr(awaited, "_asyncio_future_blocking", None) is not None:
            # the coroutine reads the outcome (result, error, cancellation) when resumed
            awaited._asyncio_future_blocking = False
            awaited.add_done_callback(self._step, context=self._context)
        else:
            error = RuntimeError(f"yield of a non-future: {awaited!r}")
            self._loop.call_soon(self._step, None, error, context=self._context)

    def _step(self, _: Any = None, error: BaseException | None = None) -> None:
        """Resume the coroutine (a future's callback passes the future: the coroutine reads it),
        or throw ``error`` into it."""
        try:
            awaited: Any = next(self._steps, _DONE) if error is None else self._coroutine.throw(error)
        except StopIteration:  # from throw()
            self._finish(None)
        except BaseException as exc:
            self._finish(exc)
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
        else:
            if awaited is _DONE:
                self._finish(None)
            else:
                self._wait_on(awaited)

    def _finish(self, error: BaseException | None) -> None:
        self._finished = True
        self._error = error
        if self._waiter is not None:
            self._settle(self._waiter)
        elif error is not None:  # nobody waits for it (a Task would say so when collected)
            self._loop.call_exception_handler(
                {"message": "exception in a request coroutine", "exception": error}
            )
        if self.on_done is not None:
            self.on_done(self)

    def _settle(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done():
            return
        if self._error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(self._error)


def start(coroutine: Coroutine[Any, Any, None]) -> Driven | None:
    """Run ``coroutine`` until it finishes (None) or waits (a ``Driven`` that finishes it).

    An exception it raises before waiting propagates to the caller.
    """
    context = contextvars.copy_context()  # cheap: the mapping is shared until a step changes it
    steps = coroutine.__await__()
    awaited: Any = context.run(next, steps, _DONE)
    if awaited is _DONE:
        return None
    # The future it waits on knows its loop: asking asyncio for the running loop costs a getpid()
    # system call on Python 3.11 (~1 us per request).
    try:
        loop = awaited.get_loop()
    except AttributeError:  # a bare yield (None), or not a future: _wait_on tells the coroutine
        loop = asyncio.get_running_loop()
    driven = Driven(coroutine, steps, loop, context)
    driven._wait_on(awaited)
    return driven
