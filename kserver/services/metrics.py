"""Live counters for ``server:metrics`` and the dashboard: cheap integer increments on hot paths."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from kserver.services.user_events import UserEvent


@dataclass(slots=True)
class Metrics:
    started: float = field(default_factory=time.time)
    requests: int = 0
    failed_requests: int = 0
    in_flight: int = 0
    connections: dict[str, int] = field(default_factory=lambda: {"websocket": 0, "http": 0})
    users_created: int = 0
    users_updated: int = 0
    users_deleted: int = 0
    upserts: int = 0

    def on_user_event(self, event: UserEvent) -> None:
        if event.action == "upsert":
            self.upserts += 1
        if event.action == "delete":
            self.users_deleted += 1
        elif event.created or event.action == "create":
            self.users_created += 1
        else:
            self.users_updated += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "timestamp": int(time.time() * 1000),
            "uptime": int(time.time() - self.started),
            "requests": self.requests,
            "failedRequests": self.failed_requests,
            "inFlight": self.in_flight,
            "connections": dict(self.connections),
            "users": {
                "created": self.users_created,
                "updated": self.users_updated,
                "deleted": self.users_deleted,
                "upserts": self.upserts,
            },
        }
