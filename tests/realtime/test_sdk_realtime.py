"""The official Kuzzle JS SDK's realtime API against a real kserver (``tests/sdk/realtime.js``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server_process import ServerProcess

SDK_DIR = Path(__file__).resolve().parents[1] / "sdk"


@pytest.fixture(scope="module")
def engine_name() -> str:
    """The SDK run checks the protocol, not the store: one engine is enough."""
    return "sqlite"


@pytest.fixture(scope="module")
def sdk_dir() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Node.js and npm are needed for the SDK end-to-end tests")
        pytest.skip("Node.js and npm are needed for the SDK end-to-end tests")
    if not (SDK_DIR / "node_modules" / "kuzzle-sdk").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=SDK_DIR, check=True, timeout=300)
    return SDK_DIR


def test_sdk_realtime_user_events_publish_and_presence(server: ServerProcess, sdk_dir: Path) -> None:
    done = subprocess.run(
        ["node", "realtime.js", "127.0.0.1", str(server.port)],
        cwd=sdk_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "7 checks passed, 0 failed" in done.stdout, report
