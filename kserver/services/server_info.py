"""What the ``server`` controller reports: info, health, public API, OpenAPI, config."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import orjson

from kserver import __version__
from kserver.config import Settings
from kserver.services.collections import USERS
from kserver.storage.filters import Eq
from kserver.storage.port import Engine, StorageError
from kserver.wire.catalog import kerror
from kserver.wire.envelope import Raw
from kserver.wire.http_routes import RouteTable

_HEALTH_SERVICES = ("internalCache", "memoryStorage", "storageEngine")


class ServerInfo:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        routes: RouteTable,
        actions: Callable[[], dict[str, list[str]]],
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.routes = routes
        self._actions = actions
        self.started = time.monotonic()

    def public_api(self) -> dict[str, Any]:
        """``{controller: {action: {controller, action, http?: [{verb, path, url}]}}}``: the SDK's map."""
        api: dict[str, dict[str, Any]] = {}
        for controller, actions in self._actions().items():
            api[controller] = {a: {"controller": controller, "action": a} for a in actions}
        for route in self.routes.routes:
            entry = api.get(route.controller, {}).get(route.action)
            if entry is None:
                continue
            entry.setdefault("http", []).append(
                {"verb": route.verb.upper(), "path": route.path, "url": route.path}
            )
        return api

    def server_info(self) -> dict[str, Any]:
        pages = os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
        free = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else 0
        page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 0
        return {
            "kuzzle": {
                "api": {"routes": self.public_api()},
                "application": {"name": "kserver", "version": __version__},
                "memoryUsed": _rss_bytes(),
                "nodeVersion": "kserver-python",
                "plugins": {},
                "system": {
                    "cpus": _cpus(),
                    "memory": {"free": free * page, "total": pages * page},
                },
                "uptime": f"{int(time.monotonic() - self.started)}s",
                "version": "2.56.0",
            },
            "services": {
                "internalCache": {"type": "in-process"},
                "memoryStorage": {"type": "in-process"},
                "internalStorage": {"type": self.engine.name},
                "publicStorage": {"type": self.engine.name},
            },
        }

    async def health_check(self, services: str | None) -> dict[str, Any]:
        """Raises core.fatal.service_unavailable when a checked service is down."""
        wanted = [s.strip() for s in services.split(",")] if services else list(_HEALTH_SERVICES)
        report: dict[str, str] = {}
        for name in wanted:
            if name not in _HEALTH_SERVICES:
                raise kerror("api.assert.invalid_argument", "services", ", ".join(_HEALTH_SERVICES))
            if name == "storageEngine":
                try:
                    ok = await self.engine.ping()
                except StorageError:
                    ok = False
                report[name] = "green" if ok else "red"
            else:
                report[name] = "green"
        if "red" in report.values():
            raise kerror(
                "core.fatal.service_unavailable", ", ".join(k for k, v in report.items() if v == "red")
            )
        return {"status": "green", "services": report}

    async def admin_exists(self) -> bool:
        return await self.engine.count(USERS, Eq("content.profileIds", "admin")) > 0

    def config(self) -> dict[str, Any]:
        limits = {
            "documentsFetchCount": self.settings.documents_fetch_count,
            "documentsWriteCount": self.settings.documents_write_count,
            "maxRequestSize": self.settings.max_request_size,
            "requestsInFlightPerConnection": self.settings.max_in_flight,
        }
        return {
            "limits": limits,
            "server": {"port": self.settings.port, "maxRequestSize": f"{self.settings.max_request_size}B"},
            "storage": {"engine": self.engine.name},
            "network": {"websocket": {"idleTimeout": int(self.settings.idle_timeout * 1000)}},
        }

    def capabilities(self) -> dict[str, Any]:
        return {
            "limits": self.config()["limits"],
            "plugins": {},
            "routes": self.public_api(),
            "services": {"storage": {"backend": self.engine.name}},
            "version": "2.56.0",
        }

    def openapi(self, fmt: str) -> Raw:
        """An OpenAPI 2.0 document generated from the route table (JSON only)."""
        if fmt not in ("json", "yaml"):
            raise kerror("api.assert.invalid_argument", "format", "json or yaml")
        paths: dict[str, dict[str, Any]] = {}
        for route in self.routes.routes:
            swagger_path = "/".join(
                "{" + s[1:] + "}" if s.startswith(":") else s for s in route.path.split("/")
            )
            operation = {
                "operationId": f"{route.controller}:{route.action}",
                "tags": [route.controller],
                "deprecated": route.deprecated,
                "parameters": [
                    {"name": s[1:], "in": "path", "required": True, "type": "string"}
                    for s in route.path.split("/")
                    if s.startswith(":")
                ],
                "responses": {"200": {"description": "Kuzzle response envelope"}},
            }
            paths.setdefault(swagger_path or "/", {})[route.verb] = operation
        document = {
            "swagger": "2.0",
            "info": {"title": "kserver API", "version": __version__},
            "paths": paths,
        }
        if fmt == "yaml":
            # JSON is valid YAML 1.2: a YAML reader parses this payload as is.
            return Raw("application/yaml", orjson.dumps(document, option=orjson.OPT_INDENT_2), document)
        return Raw("application/json", orjson.dumps(document), document)


def _cpus() -> list[dict[str, Any]]:
    """One entry per CPU, like Node's ``os.cpus()`` (which Kuzzle reports): model and MHz."""
    models: list[tuple[str, int]] = []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            model = "unknown"
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "cpu MHz":
                    models.append((model, int(float(value.strip() or 0))))
    except OSError:
        pass
    if not models:
        models = [("unknown", 0)] * (os.cpu_count() or 1)
    return [{"model": model, "speed": speed} for model, speed in models]


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
