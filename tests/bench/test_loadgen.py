"""bench/loadgen against the real echo baseline: weighted mixes, the probe, argument errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server_process import free_port

BENCH = Path(__file__).resolve().parents[2] / "bench"
LOADGEN = BENCH / "loadgen" / "loadgen.js"


@pytest.fixture(autouse=True, scope="module")
def _loadgen_installed() -> None:
    """tests/run installs the load generator (`npm ci` in bench/loadgen); its absence is an error."""
    if shutil.which("node") is None or not (BENCH / "loadgen" / "node_modules" / "ws").is_dir():
        raise RuntimeError("the load generator needs node and `npm ci` in bench/loadgen (tests/run does it)")


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(BENCH / "echo_app.py"), str(port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "echo did not start"
                time.sleep(0.05)
        yield f"ws://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def loadgen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(LOADGEN), *args], capture_output=True, text=True, timeout=60, check=False
    )


def measured(url: str, *args: str) -> dict[str, Any]:
    done = loadgen("--url", url, "--warmup", "0.2", "--duration", "0.5", *args)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_schedule_spreads_the_weights() -> None:
    script = f"console.log(JSON.stringify(require({json.dumps(str(LOADGEN))}).schedule([4, 1])))"
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [0, 0, 1, 0, 0]


def test_mix_follows_the_weights_and_reports_each_template(echo_url: str) -> None:
    mix = [
        {
            "name": "read",
            "weight": 80,
            "frame": {"controller": "security", "action": "getUser", "_id": "m{{k}}"},
        },
        {"name": "write", "weight": 20, "keyspace": 7, "frame": {"action": "upsertUser", "_id": "m{{k}}"}},
    ]
    result = measured(echo_url, "--mix", json.dumps(mix), "--connections", "4", "--inflight", "2")
    by_frame = result["by_frame"]
    assert by_frame["read"]["completed"] + by_frame["write"]["completed"] == result["completed"] > 100
    share = by_frame["write"]["completed"] / result["completed"]
    assert 0.18 < share < 0.22
    assert result["errors"] == 0


def test_probe_is_measured_apart(echo_url: str) -> None:
    probe = json.dumps({"controller": "server", "action": "now"})
    result = measured(echo_url, "--probe", probe, "--probe-interval", "5", "--connections", "2")
    assert 10 < result["probe"]["completed"] < 200  # one at a time, 5 ms apart, over 0.5 s
    assert result["probe"]["p99_ms"] is not None
    assert "by_frame" not in result


@pytest.mark.parametrize(
    "args",
    [
        ("--mix", "[]"),
        ("--mix", '[{"weight": 0, "frame": {}}]'),
        ("--mix", '[{"name": "a", "frame": {}}, {"name": "a", "frame": {}}]'),
        ("--probe", "[1]"),
    ],
)
def test_bad_arguments_exit_2(args: tuple[str, ...]) -> None:
    done = loadgen("--url", "ws://127.0.0.1:9", *args)
    assert done.returncode == 2, done.stderr
