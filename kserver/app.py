"""The composition root: ``build_app(settings)`` wires engine, services, controllers and transport.

Nothing connects here; the storage opens in the ASGI lifespan startup. Two
calls give two independent servers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kserver.config import Settings
from kserver.controllers.security_upsert import UpsertController
from kserver.controllers.auth import AuthController
from kserver.controllers.security_credentials import SecurityCredentialsController
from kserver.controllers.server import ServerController
from kserver.router import Router
from kserver.services.auth.bundle import AuthServices
from kserver.services.auth.gate import RightsPort
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
    from kserver.controllers.security import SecurityController, SecurityServices
    from kserver.services.security.bootstrap import SecurityBootstrap
    from kserver.services.security.mappings import Mappings
    from kserver.services.security.native import known_actions
    from kserver.services.security.paging import Pager
    from kserver.services.security.profiles import Profiles
    from kserver.services.security.rights import AnonymousGate, Rights
    from kserver.services.security.roles import Roles
    from kserver.services.security.scrolls import Scrolls
    from kserver.services.security.users import Users

    roles = Roles(engine, lambda: known_actions(router.actions()))
    profiles = Profiles(engine, roles)
    users = Users(engine, profiles, lambda: strategies, user_events)  # users.on_user_deleted: auth hooks
    rights = Rights(roles, profiles)  # the auth gate's authorize() calls rights.check(request, caller)
    security_bootstrap = SecurityBootstrap(engine, roles, profiles, users)
    security = SecurityController(
        SecurityServices(
            users=users,
            roles=roles,
            profiles=profiles,
            rights=rights,
            bootstrap=security_bootstrap,
            pager=Pager(engine, Scrolls(), fetch_limit=settings.documents_fetch_count),
            mappings=Mappings(engine),
            restricted_profile_ids=tuple(p.strip() for p in settings.restricted_profile_ids.split(",") if p.strip()),
            write_limit=settings.documents_write_count,
        )
    )
    for action, handler in security.actions().items():
        router.register("security", action, handler)
    for action, handler in security.admin_actions().items():
        router.register("admin", action, handler)
    startup_steps.append(security_bootstrap.ensure_defaults)
    # Every caller is anonymous until the auth block replaces this gate with its own
    # (token authentication, then rights.check).
    router.gate = AnonymousGate(rights)

    # --- auth: tokens, gate (router.gate), local strategy, auth controller, credentials & API-key actions ---
    auth = AuthServices.build(settings, engine, router.node)
    auth_rights: RightsPort = rights
    router.gate = auth.gate(auth_rights)
    strategies = auth.strategies
    disconnect_hooks.append(auth.watch.unlink)
    user_events.listen(auth.on_user_event)
    auth_controller = AuthController(
        engine=engine,
        tokens=auth.tokens,
        login=auth.login,
        credentials=auth.credentials,
        api_keys=auth.api_keys,
        strategies=auth.strategies,
        watch=auth.watch,
        rights=auth_rights,
        update_self=users.update_self,
    )
    for action, handler in auth_controller.actions().items():
        router.register("auth", action, handler)
    credentials_controller = SecurityCredentialsController(
        engine=engine,
        tokens=auth.tokens,
        credentials=auth.credentials,
        api_keys=auth.api_keys,
        strategies=auth.strategies,
    )
    for action, handler in credentials_controller.actions().items():
        router.register("security", action, handler)
    startup_steps.append(auth.start)

    # --- atomic upserts: security:upsertUser, security:mUpsertUsers ---
    upserts = UserUpserts(engine, lambda: strategies, identity_keys(settings), user_events)
    for action, handler in UpsertController(upserts, batch_max=settings.batch_upsert_max).actions().items():
        router.register("security", action, handler)

    # --- realtime: rooms, realtime controller, live user events on %kserver/users, server:metrics, Redis relay ---
    from kserver.controllers.realtime import MetricsController, RealtimeController
    from kserver.services.realtime import Hotel, RedisRelay, UserFeed

    hotel = Hotel(router.node)
    # rights are checked through the gate at call time, so the auth block's gate applies
    realtime = RealtimeController(hotel, lambda request, caller: router.gate.authorize(request, caller))
    for action, handler in realtime.actions().items():
        router.register("realtime", action, handler)
    for action, handler in MetricsController(metrics, hotel).actions().items():
        router.register("server", action, handler)
    user_events.listen(UserFeed(hotel.notify, router.node).on_user_event)
    disconnect_hooks.append(hotel.drop_connection)
    auth.watch.on_expired.append(hotel.drop_connection)  # TokenExpired ends the subscriptions
    relay = RedisRelay(settings.redis_url, hotel) if settings.redis_url else None
    if relay is not None:
        startup_steps.append(relay.start)  # lead: `await relay.close()` in shutdown() when relay is set

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
