"""The ``server`` controller: now, info, healthCheck, publicApi, openapi, adminExists, getConfig."""

from __future__ import annotations

import time
from typing import Any

from kserver.services.server_info import ServerInfo
from kserver.wire.context import Context
from kserver.wire.envelope import Raw
from kserver.wire.request import Request


class ServerController:
    def __init__(self, info: ServerInfo) -> None:
        self.info = info

    async def now(self, request: Request, context: Context) -> dict[str, int]:
        return {"now": int(time.time() * 1000)}

    async def info_(self, request: Request, context: Context) -> dict[str, Any]:
        return {"serverInfo": self.info.server_info()}

    async def health_check(self, request: Request, context: Context) -> dict[str, Any]:
        return await self.info.health_check(request.optional_string("services"))

    async def public_api(self, request: Request, context: Context) -> dict[str, Any]:
        return self.info.public_api()

    async def openapi(self, request: Request, context: Context) -> Raw:
        fmt = request.optional_string("format", "json")
        return self.info.openapi(fmt or "json")

    async def admin_exists(self, request: Request, context: Context) -> dict[str, bool]:
        return {"exists": await self.info.admin_exists()}

    async def get_config(self, request: Request, context: Context) -> dict[str, Any]:
        return self.info.config()

    async def capabilities(self, request: Request, context: Context) -> dict[str, Any]:
        return self.info.capabilities()

    def actions(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "info": self.info_,
            "healthCheck": self.health_check,
            "publicApi": self.public_api,
            "openapi": self.openapi,
            "adminExists": self.admin_exists,
            "getConfig": self.get_config,
            "capabilities": self.capabilities,
        }
