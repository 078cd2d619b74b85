"""First admin, login, roles, profiles, a user's lifecycle and logout through the official JS SDK.

``tests/sdk/security.js`` runs once over WebSocket (creating the first admin, with ``reset``)
and once over HTTP against the same server; every check it makes is printed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.server_process import ServerProcess


def run(script: str, *args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["node", script, *args], cwd=cwd, capture_output=True, text=True, timeout=90, check=False
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "FAIL" not in done.stdout, report
    return report


def test_security_with_both_sdk_protocols(fresh_server: ServerProcess, sdk_dir: Path) -> None:
    port = str(fresh_server.port)
    ws = run("security.js", "127.0.0.1", port, "websocket", "yes", cwd=sdk_dir)
    assert "checks passed, 0 failed" in ws
    http = run("security.js", "127.0.0.1", port, "http", "no", cwd=sdk_dir)
    assert "checks passed, 0 failed" in http
