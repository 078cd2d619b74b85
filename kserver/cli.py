"""``kserver`` / ``python -m kserver``: parse settings and serve with uvicorn, in one or N processes.

``--workers N`` (N > 1): this process becomes a small supervisor that spawns N worker processes.
Each worker is a complete single-process kserver (``serve()``: same uvicorn server, same graceful
SIGTERM, its own store connections) listening on its **own** socket bound with ``SO_REUSEPORT`` to
the same address. Why this rather than uvicorn's ``workers=N`` supervisor:

- uvicorn's multiprocess mode needs the app as an import string built in each child, so the
  settings would have to travel through the environment and our ``Server`` subclass (graceful
  Kuzzle shutdown: answer in-flight requests, close WebSockets with 1001, exit 0) would have to
  find the app again behind uvicorn's middleware; here a worker gets the frozen ``Settings`` by
  pickling and runs exactly the code path of ``--workers 1``;
- with one socket per worker the kernel spreads new connections evenly over the workers (by
  4-tuple hash), instead of all of them racing on one shared accept queue, where whichever
  process wakes first wins and the spread is uneven. The cost: connections still queued on a
  worker that dies are reset.

The supervisor forwards SIGTERM/SIGINT to the workers as SIGTERM (graceful), waits for them and
exits 0 when they all exited 0. A worker that dies on its own is restarted, unless it died within
``FAST_FAILURE`` seconds of its start (it cannot bind, cannot open the store...): then the
supervisor stops the others and exits 1.

State shared by the workers lives in the store only: SQLite in WAL mode with a busy timeout, so
several processes write the same file and its unique constraints hold across them. Realtime
notifications cross workers only through the Redis relay (``--redis-url``), exactly as they cross
nodes; without it, a subscriber sees the changes made through its own worker only. That setup is
allowed (many deployments use no realtime) but logged as a warning at start.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.process
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from types import FrameType

import uvicorn

from kserver.app import build_app
from kserver.config import Settings, load_settings
from kserver.transport.asgi import KServerASGI
from kserver.transport.protocols import guarded_protocols


class Server(uvicorn.Server):
    """uvicorn's server, with Kuzzle-friendly shutdown: on SIGTERM stop accepting, let in-flight
    WebSocket requests answer, close WebSockets with 1001 (uvicorn alone would send 1012 at once),
    then let uvicorn finish HTTP requests and run the lifespan shutdown, all within ``grace``."""

    def __init__(self, config: uvicorn.Config, app: KServerASGI, grace: float) -> None:
        super().__init__(config)
        self.app = app
        self.grace = grace

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:
            # uvicorn re-raises captured signals after shutting down; a SIGTERM shutdown that
            # completed is a clean exit (0), which service managers and orchestrators expect.
            self._captured_signals.remove(sig)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        await self.app.close_gracefully(self.grace)
        await super().shutdown(sockets)


def uvicorn_config(settings: Settings, app: KServerASGI) -> uvicorn.Config:
    """uvicorn with httptools, the websockets Sans-I/O protocol and uvloop (measured fastest here)."""
    http_protocol, ws_protocol = guarded_protocols(settings.handshake_timeout)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # httptools and websockets-sansio, plus a request-head timeout, socket abort and the direct
        # WebSocket path (protocols.py)
        http=http_protocol,
        ws=ws_protocol,
        loop="uvloop",
        lifespan="on",
        ws_max_size=settings.ws_hard_max_size,
        ws_ping_interval=None,  # Kuzzle does not ping; SDK clients ping us
        ws_per_message_deflate=False,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        # No X-Forwarded-* rewriting: it would let any client choose the address that login
        # throttling and per-address connection caps count, and it costs a middleware frame
        # on every request and every connection.
        proxy_headers=False,
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace)),
    )


log = logging.getLogger("kserver.workers")

FAST_FAILURE = 5.0  # seconds: a worker dying this soon after its start is a configuration error


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


YOUNG_GC_THRESHOLD = 2000
"""Allocations between young collections (CPython: 700). With 64 writes in flight more than 700
objects stay alive while they wait, and each young collection walked them again: 2,000 takes about
12k instructions off an upsert (bench/instructions.py); 5,000 and 10,000 gained no more. Requests
and idle connections make no cyclic garbage (tests/transport/test_upgrade_garbage.py), so nothing
waits longer for the collector: 10,000 idle connections cost the same RSS at 700 and 2,000."""


def settle_gc() -> None:
    """Once the server is built: keep the collector off what lives as long as the process.

    Modules, classes, functions and the app's objects never become garbage, yet each full
    collection walked them all. Frozen (``gc.freeze``), they are skipped: upsertUser's p99 at
    64 in flight went from 26.7 ms to about 9.5 ms in bench/run (README, Performance). Then
    young collections come every ``YOUNG_GC_THRESHOLD`` allocations.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


def serve(settings: Settings, sock: socket.socket | None = None) -> None:
    """One kserver process until SIGTERM; on ``sock`` if given (a worker), else uvicorn binds."""
    app = build_app(settings)
    server = Server(uvicorn_config(settings, app), app, settings.shutdown_grace)
    settle_gc()
    server.run(sockets=None if sock is None else [sock])


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT: every worker binds its own to the same address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker(settings: Settings, index: int) -> None:
    """Entry point of worker ``index`` (a spawned process): bind, then serve like ``--workers 1``."""
    _configure_logging(settings)
    try:
        sock = reuse_port_socket(settings.host, settings.port)
    except OSError as error:
        log.error("worker %d cannot bind %s:%d: %s", index, settings.host, settings.port, error)
        sys.exit(1)
    serve(settings, sock)


class Supervisor:
    """Runs ``settings.workers`` worker processes until SIGTERM/SIGINT; see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")
        self.workers: dict[int, tuple[multiprocessing.process.BaseProcess, float]] = {}
        self.stopping = False

    def _spawn(self, index: int) -> None:
        process = self.context.Process(
            target=_worker, args=(self.settings, index), name=f"kserver-worker-{index}"
        )
        process.start()
        self.workers[index] = (process, time.monotonic())

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        self.stopping = True
        for process, _ in self.workers.values():
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGTERM)

    def run(self) -> int:
        """Returns the exit status: 0 after a clean stop of every worker, else 1."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        failed = False
        try:
            for index in range(self.settings.workers):
                self._spawn(index)
            log.info(
                "kserver: %d workers on %s:%d", self.settings.workers, self.settings.host, self.settings.port
            )
            while not self.stopping:
                sentinels = [process.sentinel for process, _ in self.workers.values()]
                multiprocessing.connection.wait(sentinels, timeout=0.5)
                for index, (process, started) in list(self.workers.items()):
                    if process.exitcode is None or self.stopping:
                        continue
                    if time.monotonic() - started < FAST_FAILURE:
                        log.error("worker %d exited with %s at start: stopping", index, process.exitcode)
                        failed = True
                        self._stop(signal.SIGTERM, None)
                        break
                    log.error("worker %d exited with %s: restarting it", index, process.exitcode)
                    process.close()
                    self._spawn(index)
            return self._join() or int(failed)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _join(self) -> int:
        deadline = time.monotonic() + self.settings.shutdown_grace + 5
        status = 0
        for index, (process, _) in self.workers.items():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                log.error("worker %d did not stop in time: killing it", index)
                process.kill()
                process.join()
            if process.exitcode != 0:
                status = 1
        return status


def main(argv: Sequence[str] | None = None) -> None:
    settings = load_settings(argv)
    _configure_logging(settings)
    if settings.workers < 1:
        sys.exit("kserver: --workers must be at least 1")
    if settings.workers == 1:
        serve(settings)
        return
    if settings.port == 0:
        sys.exit("kserver: --workers > 1 needs a fixed --port (each worker binds it)")
    if not settings.redis_url:
        log.warning(
            "--workers %d without --redis-url: realtime notifications stay within the worker "
            "that handled the change (set --redis-url to relay them across workers)",
            settings.workers,
        )
    sys.exit(Supervisor(settings).run())
