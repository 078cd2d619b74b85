"""The ``/_dashboard`` page: its static files over HTTP, and the page itself in headless Chromium."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.programs import required_program
from tests.security.auth_world import SERVER_ARGS
from tests.server_process import ServerProcess, start_server

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parent / "artifacts"
ADMIN, PASSWORD = "dash-admin", "Dash-pass-1234"


@pytest.fixture(scope="module")
def dash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    handle = start_server(tmp_path_factory.mktemp("dashboard"), args=SERVER_ARGS)
    yield handle
    handle.stop()


def test_static_files_and_headers(dash_server: ServerProcess) -> None:
    with httpx.Client(base_url=dash_server.http_url) as http:
        redirect = http.get("/_dashboard")
        assert (redirect.status_code, redirect.headers["location"]) == (308, "/_dashboard/")
        page = http.get("/_dashboard/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert '<script src="app.js">' in page.text
        script = http.get("/_dashboard/app.js")
        assert (script.status_code, script.headers["content-type"]) == (200, "text/javascript; charset=utf-8")
        assert "realtime" in script.text
        assert http.get("/_dashboard/style.css").headers["content-type"] == "text/css; charset=utf-8"
        assert http.get("/_dashboard/__init__.py").status_code == 404
        assert http.get("/_dashboard/../pyproject.toml").status_code == 404
        assert http.head("/_dashboard/app.js").content == b""
        assert http.post("/_dashboard/app.js").status_code == 405


def test_dashboard_in_headless_chromium(dash_server: ServerProcess) -> None:
    chromium = required_program(
        "chromium", "run tests/tools/debian.sh chromium chromium", env="KSERVER_CHROMIUM_BIN"
    )
    required_program("node", "install Node.js >= 18")
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=300)
    first_admin = {
        "controller": "security",
        "action": "createFirstAdmin",
        "_id": ADMIN,
        "reset": True,
        "body": {"content": {}, "credentials": {"local": {"username": ADMIN, "password": PASSWORD}}},
    }
    created = httpx.post(f"{dash_server.http_url}/_query", json=first_admin)
    assert created.json()["error"] is None, created.text
    screenshot = ARTIFACTS / "dashboard.png"
    screenshot.unlink(missing_ok=True)
    done = subprocess.run(
        ["node", "dashboard.js", dash_server.http_url, ADMIN, PASSWORD, str(screenshot)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={**os.environ, "CHROMIUM_BIN": chromium},
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "DASHBOARD OK" in done.stdout, report
    assert screenshot.stat().st_size > 10_000
