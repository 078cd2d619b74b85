"""A throwaway redis-server on a free loopback port, for the cross-node tests."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.programs import required_program
from tests.server_process import free_port


def redis_binary() -> str:
    """redis-server's path; fails (CI=true) or skips the test when it is not installed."""
    hint = "run tests/tools/debian.sh redis-server redis-server"
    return required_program("redis-server", hint, env="KSERVER_REDIS_BIN")


@contextmanager
def running_redis(directory: Path) -> Iterator[str]:
    """Start redis-server (no persistence) and yield its URL; stopped afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
