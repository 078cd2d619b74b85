"""The composition root: ``build_app(settings)`` wires engine, services, controllers and transport.

Nothing connects here; the storage opens in the ASGI lifespan startup. Two
calls give two independent servers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kserver.config import Settings
from kserver.controllers.security_upsert import UpsertController
from kserver.controllers.server import ServerController
from kserver.router import Router
from kserver.services.collections import collection_specs
from kserver.services.metrics import Metrics
from kserver.services.names import human_name
from kserver.services.server_info import ServerInfo
from kserver.services.strategy import Strategies
from kserver.services.upserts import UserUpserts
from kserver.services.user_events import UserEvents
from kserver.storage import engine_for_url
from kserver.transport.asgi import KServerASGI
from kserver.wire.catalog import catalog
from kserver.wire.context import Connection
from kserver.wire.http_routes import RouteTable
from kserver.wire.protocol_data import load_json


def identity_keys(settings: Settings) -> list[str]:
    return [key.strip() for key in settings.identity_keys.split(",") if key.strip()]


def build_app(settings: Settings) -> KServerASGI:
    catalog()  # load and check the error catalog before serving anything
    routes = RouteTable.from_data(load_json("routes.json"))
    engine = engine_for_url(settings.storage)
    metrics = Metrics()
    router = Router(settings.node_id or human_name("knode"), metrics=metrics)

    info = ServerInfo(settings, engine, routes, router.actions)
    for action, handler in ServerController(info).actions().items():
        router.register("server", action, handler)

    # Each block below appends what must run once the store is open (bootstrap data, secrets).
    startup_steps: list[Callable[[], Awaitable[None]]] = []
    user_events = UserEvents()
    user_events.listen(metrics.on_user_event)
    disconnect_hooks: list[Callable[[Connection], None]] = []  # run when a WebSocket connection ends
    strategies = Strategies([])  # the auth block replaces it with the enabled strategies

    # --- security model: roles, profiles, rights, users, security controller user/role/profile actions ---
    # (filled by the security-model work; nothing else in this block)

    # --- auth: tokens, gate (router.gate), local strategy, auth controller, credentials & API-key actions ---
    # (filled by the auth work; nothing else in this block)

    # --- atomic upserts: security:upsertUser, security:mUpsertUsers ---
    upserts = UserUpserts(engine, lambda: strategies, identity_keys(settings), user_events)
    for action, handler in UpsertController(upserts, batch_max=settings.batch_upsert_max).actions().items():
        router.register("security", action, handler)

    async def startup() -> None:
        await engine.open(collection_specs(identity_keys(settings)))
        for step in startup_steps:
            await step()

    async def shutdown() -> None:
        await engine.close()

    return KServerASGI(
        router,
        routes,
        max_request_size=settings.max_request_size,
        max_in_flight=settings.max_in_flight,
        idle_timeout=settings.idle_timeout,
        on_startup=startup,
        on_shutdown=shutdown,
        on_disconnect=disconnect_hooks,
    )
