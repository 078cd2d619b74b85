"""The composition root: ``build_app(settings)`` wires engine, services, controllers and transport.

Nothing connects here; the storage opens in the ASGI lifespan startup. Two
calls give two independent servers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from kserver.config import Settings
from kserver.controllers.auth import AuthController
from kserver.controllers.realtime import MetricsController, RealtimeController
from kserver.controllers.security import SecurityController, SecurityServices
from kserver.controllers.security_credentials import SecurityCredentialsController
from kserver.controllers.security_upsert import UpsertController
from kserver.controllers.server import ServerController
from kserver.router import Handler, Router
from kserver.services.auth.bundle import AuthServices
from kserver.services.collections import collection_specs
from kserver.services.epoch import Epoch
from kserver.services.metrics import Metrics
from kserver.services.names import human_name
from kserver.services.realtime import Hotel, RedisRelay, UserFeed
from kserver.services.security.bootstrap import SecurityBootstrap
from kserver.services.security.mappings import Mappings
from kserver.services.security.native import known_actions
from kserver.services.security.paging import Pager
from kserver.services.security.profiles import Profiles
from kserver.services.security.rights import Rights
from kserver.services.security.roles import Roles
from kserver.services.security.scrolls import Scrolls
from kserver.services.security.users import Users
from kserver.services.server_info import ServerInfo
from kserver.services.upserts import UserUpserts
from kserver.services.user_events import UserEvents
from kserver.storage import engine_for_url
from kserver.transport.asgi import KServerASGI
from kserver.transport.limits import Limits
from kserver.wire.catalog import catalog
from kserver.wire.context import Connection
from kserver.wire.http_routes import RouteTable
from kserver.wire.protocol_data import load_json

Step = Callable[[], Awaitable[None]]


def identity_keys(settings: Settings) -> list[str]:
    return _csv(settings.identity_keys)


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def build_app(settings: Settings) -> KServerASGI:
    catalog()  # load and check the error catalog before serving anything
    routes = RouteTable.from_data(load_json("routes.json"))
    engine = engine_for_url(settings.storage)
    metrics = Metrics()
    router = Router(settings.node_id or human_name("knode"), metrics=metrics)
    startup_steps: list[Step] = []  # what must run once the store is open (bootstrap data, secrets)
    shutdown_steps: list[Step] = []
    disconnect_hooks: list[Callable[[Connection], None]] = []  # run when a WebSocket connection ends
    user_events = UserEvents()
    user_events.listen(metrics.on_user_event)

    def register(controller: str, actions: Mapping[str, Handler]) -> None:
        for action, handler in actions.items():
            router.register(controller, action, handler)

    register("server", ServerController(ServerInfo(settings, engine, routes, router.actions)).actions())

    # Authentication: tokens, the local strategy (argon2id off the loop), API keys.
    epoch = Epoch()  # every security cache bumps it: the gate's per-connection memo checks it
    auth = AuthServices.build(settings, engine, router.node, epoch)
    startup_steps.append(auth.start)
    disconnect_hooks.append(auth.watch.unlink)
    user_events.listen(auth.on_user_event)

    # The security model: roles, profiles, rights, users (a user and its credentials: one document).
    roles = Roles(engine, lambda: known_actions(router.actions()), epoch=epoch)
    profiles = Profiles(engine, roles, epoch=epoch)
    users = Users(engine, profiles, lambda: auth.strategies, user_events)
    rights = Rights(roles, profiles)
    bootstrap = SecurityBootstrap(engine, roles, profiles, users)
    startup_steps.append(bootstrap.ensure_defaults)
    router.gate = auth.gate(rights)  # every request: verify its jwt, then check its rights

    security = SecurityController(
        SecurityServices(
            users=users,
            roles=roles,
            profiles=profiles,
            rights=rights,
            bootstrap=bootstrap,
            pager=Pager(engine, Scrolls(), fetch_limit=settings.documents_fetch_count),
            mappings=Mappings(engine),
            restricted_profile_ids=tuple(_csv(settings.restricted_profile_ids)),
            write_limit=settings.documents_write_count,
        )
    )
    register("security", security.actions())
    register("admin", security.admin_actions())
    register(
        "security",
        SecurityCredentialsController(
            engine=engine,
            tokens=auth.tokens,
            credentials=auth.credentials,
            api_keys=auth.api_keys,
            strategies=auth.strategies,
        ).actions(),
    )
    register(
        "auth",
        AuthController(
            engine=engine,
            tokens=auth.tokens,
            login=auth.login,
            credentials=auth.credentials,
            api_keys=auth.api_keys,
            strategies=auth.strategies,
            watch=auth.watch,
            rights=rights,
            update_self=users.update_self,
        ).actions(),
    )

    # Atomic upserts, single and batched, keyed by _id or identity keys.
    upserts = UserUpserts(engine, lambda: auth.strategies, identity_keys(settings), user_events, profiles)
    register("security", UpsertController(upserts, batch_max=settings.batch_upsert_max).actions())

    # Realtime: rooms, notifications, live user events on %kserver/users, the Redis relay.
    hotel = Hotel(router.node, max_rooms_per_connection=settings.subscriptions_per_connection)
    # rights are checked through the gate at call time (subscriptions to %kserver need user-read rights)
    register("realtime", RealtimeController(hotel, router.gate.authorize).actions())
    register("server", MetricsController(metrics, hotel).actions())
    user_events.listen(UserFeed(hotel.notify, router.node, hotel.wants).on_user_event)
    disconnect_hooks.append(hotel.drop_connection)
    auth.watch.on_expired.append(hotel.drop_connection)  # TokenExpired ends the subscriptions
    if settings.redis_url:
        relay = RedisRelay(settings.redis_url, hotel)
        startup_steps.append(relay.start)
        shutdown_steps.append(relay.close)

    async def startup() -> None:
        await engine.open(collection_specs(identity_keys(settings)))
        for step in startup_steps:
            await step()

    async def shutdown() -> None:
        for step in shutdown_steps:
            await step()
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
        limits=Limits.from_settings(settings),
        cors_origins=settings.cors_origins,
    )
