"""The one dispatcher from ``(controller, action)`` to handlers, shared by every transport.

Pipeline (Kuzzle's funnel order): authenticate the jwt (a supplied jwt is always
verified; without one the caller is anonymous) → check rights → find the action (404s)
→ run it. The router builds every envelope; a handler returns a result or raises a
catalog error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from kserver.services.metrics import Metrics
from kserver.storage.port import StorageError, StorageUnavailable, UnstorableValue
from kserver.wire.catalog import KuzzleError, kerror
from kserver.wire.context import ANONYMOUS, Caller, Connection, Context
from kserver.wire.envelope import Answer, Raw, envelope
from kserver.wire.request import Request

log = logging.getLogger("kserver.router")

Handler = Callable[[Request, Context], Awaitable[Any]]


class Gate(Protocol):
    """Authentication and authorisation, provided by the security services."""

    def admitted(self, request: Request, connection: Connection) -> Context | None:
        """The handler's context when ``request`` is known to be admitted without waiting (memoised);
        None means ``admit`` must decide."""

    async def admit(self, request: Request, connection: Connection) -> Context:
        """The handler's context (the caller for ``request.jwt``, anonymous without one) once it may
        run ``request``; raises security.token.* errors for a bad token, security.rights.* when not
        allowed."""

    async def authorize(self, request: Request, caller: Caller) -> None:
        """Raises security.rights.unauthorized (anonymous) or forbidden when not allowed."""


class OpenGate:
    """Everyone is anonymous and may do everything (a fresh Kuzzle's rights)."""

    def admitted(self, request: Request, connection: Connection) -> Context | None:
        return Context(connection, ANONYMOUS)

    async def admit(self, request: Request, connection: Connection) -> Context:
        return Context(connection, ANONYMOUS)

    async def authorize(self, request: Request, caller: Caller) -> None:
        return None


class Outcome:
    """A finished request: its envelope, plus HTTP hints from an Answer or Raw result."""

    __slots__ = ("answer", "body", "raw")

    def __init__(self, body: dict[str, Any], answer: Answer | None = None, raw: Raw | None = None) -> None:
        self.body = body
        self.answer = answer
        self.raw = raw

    @property
    def status(self) -> int:
        status: int = self.body["status"]
        return status


class Router:
    def __init__(self, node: str, gate: Gate | None = None, metrics: Metrics | None = None) -> None:
        self.node = node
        self.gate: Gate = gate or OpenGate()
        self.metrics = metrics or Metrics()
        self._handlers: dict[str, dict[str, Handler]] = {}

    def register(self, controller: str, action: str, handler: Handler) -> None:
        actions = self._handlers.setdefault(controller, {})
        if action in actions:
            raise ValueError(f"{controller}:{action} registered twice")
        actions[action] = handler

    def actions(self) -> dict[str, list[str]]:
        return {controller: sorted(actions) for controller, actions in self._handlers.items()}

    def has(self, controller: str, action: str) -> bool:
        return action in self._handlers.get(controller, {})

    async def dispatch(self, request: Request, connection: Connection) -> Outcome:
        """Run ``request`` to completion; never raises (errors become error envelopes)."""
        metrics = self.metrics
        metrics.requests += 1
        metrics.in_flight += 1
        try:
            context = self.gate.admitted(request, connection) or await self.gate.admit(request, connection)
            actions = self._handlers.get(request.controller)
            handler = actions.get(request.action) if actions is not None else None
            if handler is None:
                handler = self._find(request)  # raises the 404 (or it was registered meanwhile)
            result = await handler(request, context)
        except KuzzleError as error:
            metrics.failed_requests += 1
            return Outcome(envelope(request, self.node, result=error.result, error=error))
        # a name per clause: mypyc types an ``except ... as`` name by its first clause (mypyc#620)
        except StorageUnavailable as down:
            metrics.failed_requests += 1
            log.warning("storage unavailable during %s:%s: %s", request.controller, request.action, down)
            return Outcome(envelope(request, self.node, error=kerror("services.storage.not_connected")))
        except UnstorableValue as unstorable:
            metrics.failed_requests += 1
            refused = kerror("services.storage.unexpected_bad_request", str(unstorable))
            return Outcome(envelope(request, self.node, error=refused))
        except StorageError as exc:
            metrics.failed_requests += 1
            log.warning("storage error during %s:%s: %s", request.controller, request.action, exc)
            failed = kerror("services.storage.unexpected_error", type(exc).__name__)
            return Outcome(envelope(request, self.node, error=failed))
        except Exception:
            metrics.failed_requests += 1
            log.exception("unexpected error in %s:%s", request.controller, request.action)
            unexpected = kerror("core.fatal.unexpected_error", "internal error")
            return Outcome(envelope(request, self.node, error=unexpected))
        finally:
            metrics.in_flight -= 1
        if isinstance(result, Answer):
            return Outcome(envelope(request, self.node, result=result.result), answer=result)
        if isinstance(result, Raw):
            return Outcome(envelope(request, self.node, result=result.result), raw=result)
        return Outcome(envelope(request, self.node, result=result))

    def _find(self, request: Request) -> Handler:
        actions = self._handlers.get(request.controller)
        if actions is None:
            raise kerror("api.process.controller_not_found", request.controller)
        handler = actions.get(request.action)
        if handler is None:
            raise kerror("api.process.action_not_found", request.controller, request.action)
        return handler
