"""A real MongoDB-wire server for tests and benches: FerretDB 1.24 on its SQLite backend.

``FerretDB(data_dir)`` is a context manager: entering builds the binary if
needed (``tests/tools/ferretdb.sh``), starts the server on a free 127.0.0.1
port, waits until it answers ``ping`` and exposes ``url``; leaving stops it.
``stop()`` and ``start()`` in between restart the same instance (same data
directory, same port) for outage tests.

Binary lookup: ``$KSERVER_FERRETDB_BIN``, else the script's cache. A failed
build raises ``FerretDBUnavailable``; callers must let it fail the run (the
suite never skips MongoDB silently, least of all with ``CI=true``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from pymongo import MongoClient
from pymongo.errors import PyMongoError

SCRIPT = Path(__file__).parent / "tools" / "ferretdb.sh"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


class FerretDBUnavailable(RuntimeError):
    """FerretDB could not be built or started; the message says why."""


def ferretdb_binary() -> Path:
    """The FerretDB binary, built by ``tests/tools/ferretdb.sh`` on first use (about a minute)."""
    configured = os.environ.get("KSERVER_FERRETDB_BIN")
    if configured:
        path = Path(configured)
        if not os.access(path, os.X_OK):
            raise FerretDBUnavailable(f"KSERVER_FERRETDB_BIN={configured} is not an executable")
        return path
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        ci = " (CI=true: this fails the run)" if os.environ.get("CI") == "true" else ""
        raise FerretDBUnavailable(f"{SCRIPT} failed{ci}:\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class FerretDB:
    """One FerretDB process bound to ``data_dir``; see the module docstring for the lifecycle."""

    def __init__(self, data_dir: Path, *, binary: Path | None = None) -> None:
        self.data_dir = data_dir
        self._binary = binary
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path = data_dir / "ferretdb.log"

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start (or restart) the server and return once it answers ``ping``."""
        if self.running:
            return
        if self._binary is None:
            self._binary = ferretdb_binary()
        (self.data_dir / "sqlite").mkdir(parents=True, exist_ok=True)
        command = [
            str(self._binary),
            "--handler=sqlite",
            f"--sqlite-url=file:{self.data_dir / 'sqlite'}/",
            f"--state-dir={self.data_dir}",
            f"--listen-addr=127.0.0.1:{self.port}",
            "--debug-addr=-",  # no metrics/pprof listener: nothing but the wire port is opened
            "--telemetry=disable",
            "--log-level=WARN",
        ]
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        client: MongoClient[dict[str, object]]
        with MongoClient(self.url, serverSelectionTimeoutMS=250, connectTimeoutMS=250) as client:
            while True:
                if not self.running:
                    raise FerretDBUnavailable(f"FerretDB exited at start-up:\n{self._log.read_text()}")
                try:
                    client.admin.command("ping")
                    return
                except PyMongoError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise FerretDBUnavailable(
                            f"FerretDB did not answer within {START_TIMEOUT}s:\n{self._log.read_text()}"
                        ) from None
                    time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); its data directory and port stay reserved."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> FerretDB:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
