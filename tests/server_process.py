"""Run a real kserver process on a free loopback port, for tests and benches."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    port: int
    storage: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the crash tests' way to stop it."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def start_server(
    tmp_path: Path,
    *,
    storage: str | None = None,
    port: int | None = None,
    args: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 30,
) -> ServerProcess:
    """Start ``python -m kserver`` and wait until ``GET /_healthcheck`` answers."""
    port = port or free_port()
    storage = storage or f"sqlite:///{tmp_path / 'kserver.db'}"
    log_path = tmp_path / f"kserver-{port}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KSERVER_")}
    environment.update(env or {})
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kserver",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--storage",
                storage,
                *args,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    server = ServerProcess(port, storage, process, log_path)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kserver exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.http_url}/_healthcheck", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    server.kill()
    raise RuntimeError(f"kserver did not start within {ready_timeout}s:\n{server.log()}")


@contextmanager
def running_server(tmp_path: Path, **kwargs: object) -> Iterator[ServerProcess]:
    server = start_server(tmp_path, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
