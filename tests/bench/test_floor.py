"""bench/floor_app.py answers the benchmarked frames as kserver does, and its writes are real."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.server_process import free_port

BENCH = Path(__file__).resolve().parents[2] / "bench"
JWT = "floor-test-token"


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    db = tmp_path_factory.mktemp("floor") / "floor.db"
    port = free_port()
    process = subprocess.Popen([sys.executable, str(BENCH / "floor_app.py"), str(port), str(db), JWT])
    url = f"ws://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with connect(url, open_timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("bench/floor_app.py did not start") from None
                time.sleep(0.05)
        yield url, db
    finally:
        process.terminate()
        process.wait(10)


def ask(ws: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
    ws.send(orjson.dumps(frame).decode())
    answer: dict[str, Any] = orjson.loads(ws.recv(timeout=10))
    assert answer["requestId"] == frame["requestId"]
    return answer


def test_it_answers_the_benchmarked_frames_as_kserver_does(floor: tuple[str, Path]) -> None:
    url, _ = floor
    with connect(url) as ws:
        now = ask(ws, {"controller": "server", "action": "now", "requestId": "r1"})
        assert now["status"] == 200
        assert abs(now["result"]["now"] - time.time() * 1000) < 60_000
        get = {"controller": "security", "action": "getUser", "jwt": JWT}
        got = ask(ws, {**get, "_id": "m7", "requestId": "r2"})
        assert got["status"] == 200
        assert got["error"] is None
        assert got["result"]["_id"] == "m7"
        assert got["result"]["_source"]["i"] == 7
        assert got["result"]["_source"]["profileIds"] == ["default"]
        refused = ask(ws, {**get, "_id": "m7", "jwt": "x", "requestId": "r3"})
        assert refused["status"] == 401
        assert refused["error"]["status"] == 401
        missing = ask(ws, {**get, "_id": "zz", "requestId": "r4"})
        assert missing["status"] == 404

        def upsert(request_id: str, content: dict[str, Any]) -> dict[str, Any]:
            frame = {"controller": "security", "action": "upsertUser", "_id": "fresh", "jwt": JWT}
            return ask(ws, {**frame, "requestId": request_id, "body": {"content": content}})

        first = upsert("r5", {"profileIds": ["default"], "a": 1})
        assert first["status"] == 200
        assert first["result"]["created"] is True
        second = upsert("r6", {"b": 2})
        assert second["result"]["created"] is False
        source = second["result"]["_source"]
        assert (source["a"], source["b"], source["_kuzzle_info"]["updater"]) == (1, 2, "floor")
        read = ask(ws, {**get, "_id": "fresh", "requestId": "r7"})
        assert read["result"]["_source"] == source


def test_every_acknowledged_upsert_is_in_the_file(floor: tuple[str, Path]) -> None:
    """Under the load generator (64 connections, as the bench), each answered upsert of a new id is a row."""
    url, db = floor
    frame = {
        "controller": "security",
        "action": "upsertUser",
        "_id": "load-{{n}}",
        "body": {"content": {"profileIds": ["default"], "n": "{{n}}"}},
    }
    argv = [
        *("node", str(BENCH / "loadgen" / "loadgen.js"), "--url", url, "--frame", json.dumps(frame)),
        *("--connections", "64", "--inflight", "1", "--warmup", "0.2", "--duration", "1", "--jwt", JWT),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0
    assert result["completed"] > 100
    with sqlite3.connect(db) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM docs WHERE id LIKE 'load-%'").fetchone()
    assert rows >= result["completed"]
