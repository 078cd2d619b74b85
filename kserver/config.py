"""All configuration in one place: CLI flags and ``KSERVER_*`` environment variables.

Every setting has a flag ``--some-name`` and a variable ``KSERVER_SOME_NAME``;
a flag wins over the variable, the variable over the default. Nothing else in
kserver reads the environment.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from kserver import __version__
from kserver._compiled import COMPILED, compiled_files

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 7512
    storage: str = "sqlite:///./data/kserver.db"
    log_level: str = "info"
    max_request_size: int = _MIB
    ws_hard_max_size: int = 16 * _MIB
    max_in_flight: int = 64
    idle_timeout: float = 60.0
    # transport limits (kserver/transport/limits.py)
    ws_max_connections: int = 0
    ws_max_connections_per_address: int = 0
    ws_send_queue_bytes: int = 4 * _MIB
    ws_send_queue_messages: int = 10_000
    handshake_timeout: float = 10.0
    subscriptions_per_connection: int = 10_000
    cors_origins: str = ""
    shutdown_grace: float = 10.0
    node_id: str = ""
    documents_fetch_count: int = 10_000
    documents_write_count: int = 200
    batch_upsert_max: int = 10_000
    # security model
    identity_keys: str = ""
    restricted_profile_ids: str = "default"
    # authentication
    jwt_secret: str = ""
    token_ttl: str = "1h"
    token_max_ttl: int = -1
    argon2_memory_kib: int = 19_456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    hash_workers: int = 0
    login_failures_per_minute: int = 10
    production: bool = False
    # realtime
    redis_url: str = ""
    # processes
    workers: int = 1

    def with_(self, **changes: Any) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


_HELP: dict[str, str] = {
    "host": "address to listen on",
    "port": "port for both WebSocket and HTTP (Kuzzle's is 7512)",
    "storage": "storage URL: sqlite:///path/to/file.db (embedded, default) or mongodb://host:port/db",
    "log_level": "critical, error, warning, info or debug",
    "max_request_size": "largest accepted HTTP body or WebSocket frame, in bytes (Kuzzle: 1 MiB); "
    "bigger ones get a 413 error",
    "ws_hard_max_size": "a WebSocket frame over this many bytes closes the connection (1009) unread",
    "max_in_flight": "requests of one WebSocket connection handled at once; beyond it the server stops "
    "reading that connection until one finishes (backpressure)",
    "idle_timeout": "seconds without a frame from a WebSocket client before it is disconnected",
    "ws_max_connections": "most WebSocket connections at once; more get HTTP 503 api.process.overloaded "
    "before the upgrade (0: no limit but the process's file descriptors)",
    "ws_max_connections_per_address": "most WebSocket connections from one client address; more get "
    "HTTP 429 api.process.too_many_requests before the upgrade (0: no limit)",
    "ws_send_queue_bytes": "bytes of replies and notifications queued for one WebSocket client that does "
    "not read them (past the socket buffers) before it is disconnected",
    "ws_send_queue_messages": "frames queued for one WebSocket client that does not read them before it is "
    "disconnected",
    "handshake_timeout": "seconds a client has to send a complete HTTP request head (or WebSocket upgrade) "
    "once connected or once it started a new request; then the socket is closed",
    "subscriptions_per_connection": "most rooms one WebSocket connection may subscribe to "
    "(core.realtime.too_many_rooms past it; 0: no limit)",
    "cors_origins": "comma-separated origins allowed with credentials (Access-Control-Allow-Credentials); "
    "any other Origin gets 401 api.process.unauthorized_origin (HTTP and WebSocket upgrade). Empty: every "
    "Origin is echoed, without credentials",
    "shutdown_grace": "seconds a SIGTERM leaves in-flight requests to finish before connections close",
    "node_id": "this node's name in envelopes (default: generated knode-<adjective>-<name>-<n>)",
    "documents_fetch_count": "most documents one search may return (Kuzzle's limits.documentsFetchCount)",
    "documents_write_count": "most documents one batch may write (Kuzzle's limits.documentsWriteCount)",
    "batch_upsert_max": "most users one security:mUpsertUsers may carry (bigger batches get a 413 error)",
    "identity_keys": "comma-separated user content fields that identify a user and are unique across users "
    "(e.g. emails,taxId,employeeId; an array field: every element counts); none by default",
    "restricted_profile_ids": "comma-separated profiles given by security:createRestrictedUser",
    "jwt_secret": "secret signing auth tokens (HS256); empty: generated once and kept in the store",
    "token_ttl": "default auth token lifetime (ms number or '30s', '1h'...)",
    "token_max_ttl": "longest token lifetime a client may ask for, in ms (-1: no limit)",
    "argon2_memory_kib": "argon2id memory cost in KiB (OWASP minimum 19456 = 19 MiB)",
    "argon2_time_cost": "argon2id iterations (OWASP minimum 2 with 19 MiB)",
    "argon2_parallelism": "argon2id lanes",
    "hash_workers": "threads hashing passwords off the event loop (0: one per core)",
    "login_failures_per_minute": "failed logins allowed per username and per client address per minute",
    "production": "refuse insecure settings (e.g. no configured JWT secret) at start",
    "redis_url": "Redis URL (redis://host:port/0) relaying realtime notifications between kserver nodes; "
    "empty: this node only",
    "workers": "server processes sharing the port (SO_REUSEPORT), each with its own event loop and store "
    "connections; realtime notifications cross workers only through --redis-url, as across nodes",
}


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def _env_name(name: str) -> str:
    return "KSERVER_" + name.upper()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kserver",
        description="A Kuzzle 2.x protocol server (WebSocket and HTTP on one port).",
        epilog="Every option can also be set with an environment variable KSERVER_<OPTION> "
        "(e.g. KSERVER_PORT=7512, KSERVER_STORAGE=mongodb://localhost:27017/kserver).",
    )
    defaults = Settings()
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        kind: Any = _parse_bool if isinstance(default, bool) else type(default)
        parser.add_argument(
            flag,
            type=kind,
            default=None,
            metavar=f.name.upper(),
            help=f"{_HELP[f.name]} [env {_env_name(f.name)}; default {default!r}]",
        )
    parser.add_argument("--version", action="version", version=version_line())
    return parser


def version_line() -> str:
    """``kserver 0.1.0 (compiled: 34 of 34 hot-path modules)``: whether this install runs mypyc's build."""
    built = len(compiled_files())
    return f"kserver {__version__} (compiled: {built} of {len(COMPILED)} hot-path modules)"


def load_settings(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from flags, then ``KSERVER_*`` variables, then defaults; exits on a bad value."""
    parser = build_parser()
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        flag_value = getattr(args, f.name)
        if flag_value is not None:
            values[f.name] = flag_value
            continue
        raw = env.get(_env_name(f.name))
        if raw is None:
            values[f.name] = default
            continue
        try:
            values[f.name] = _parse_bool(raw) if isinstance(default, bool) else type(default)(raw)
        except ValueError:
            parser.error(f"{_env_name(f.name)}={raw!r} is not a valid {type(default).__name__}")
    return Settings(**values)
