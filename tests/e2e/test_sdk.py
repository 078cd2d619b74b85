"""The official Kuzzle JS SDK (kuzzle-sdk v7) against a real kserver, over WebSocket and HTTP.

Runs ``tests/sdk/smoke.js`` (``npm ci`` first if its ``node_modules`` is missing); every check it
makes is printed, and the test fails on any mismatch, rejection or hang.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.server_process import ServerProcess


def test_sdk_smoke_over_websocket_and_http(server: ServerProcess, sdk_dir: Path) -> None:
    done = subprocess.run(
        ["node", "smoke.js", "127.0.0.1", str(server.port)],
        cwd=sdk_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "checks passed, 0 failed" in done.stdout, report
    assert "FAIL" not in done.stdout, report
