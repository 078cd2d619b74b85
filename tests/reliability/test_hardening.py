"""CORS origins, secrets and tracebacks kept out of logs and replies, production start checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.kclient import kclient
from tests.reliability.rawws import RawWebSocket
from tests.security.conftest import CHEAP_HASH
from tests.server_process import running_server

LISTED = "https://app.example"


async def test_cors_default_echoes_origins_without_credentials(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            response = await http.get("/_now", headers={"Origin": "https://anywhere.example"})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://anywhere.example"
        assert "access-control-allow-credentials" not in response.headers
        ws = await RawWebSocket.open(server.port, headers={"Origin": "https://anywhere.example"})
        ws.close()


async def test_cors_listed_origins_get_credentials_others_401(tmp_path: Path) -> None:
    with running_server(tmp_path, args=("--cors-origins", f"{LISTED}, https://other.example")) as server:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            listed = await http.get("/_now", headers={"Origin": LISTED})
            assert listed.status_code == 200
            assert listed.headers["access-control-allow-origin"] == LISTED
            assert listed.headers["access-control-allow-credentials"] == "true"
            for method in ("GET", "OPTIONS"):
                refused = await http.request(method, "/_now", headers={"Origin": "https://evil.example"})
                assert refused.status_code == 401
                assert refused.json()["error"]["id"] == "api.process.unauthorized_origin"
                assert "access-control-allow-origin" not in refused.headers
                assert "access-control-allow-credentials" not in refused.headers
            no_origin = await http.get("/_now")  # not a browser: no Origin, no CORS
            assert no_origin.status_code == 200
        with pytest.raises(InvalidStatus) as denied:
            async with connect(server.ws_url, origin="https://evil.example"):  # type: ignore[arg-type]
                pass
        assert denied.value.response.status_code == 401
        body = orjson.loads(denied.value.response.body or b"{}")
        assert body["error"]["id"] == "api.process.unauthorized_origin"
        async with kclient(server.ws_url, origin=LISTED) as client:
            assert (await client.query({"controller": "server", "action": "now"}))["status"] == 200


SECRET = "jwt-secret-that-must-never-be-seen-" + "q" * 32
PASSWORDS = ("Hunter2-very-secret!", "Other-Pass-42?", "Wrong-Guess-1")


async def test_no_secret_hash_password_or_traceback_in_logs_or_replies(tmp_path: Path) -> None:
    args = (*CHEAP_HASH, "--jwt-secret", SECRET, "--login-failures-per-minute", "3")
    replies: list[str] = []
    with running_server(tmp_path, args=args) as server:
        async with kclient(server.ws_url) as client, httpx.AsyncClient(base_url=server.http_url) as http:

            async def ws(frame: dict[str, object]) -> dict[str, object]:
                reply = await client.query(frame)
                replies.append(orjson.dumps(reply).decode())
                return reply

            await ws(
                {
                    "controller": "security",
                    "action": "createFirstAdmin",
                    "_id": "root",
                    "reset": True,
                    "body": {
                        "content": {},
                        "credentials": {"local": {"username": "root", "password": PASSWORDS[0]}},
                    },
                }
            )
            login = await ws(
                {
                    "controller": "auth",
                    "action": "login",
                    "strategy": "local",
                    "body": {"username": "root", "password": PASSWORDS[0]},
                }
            )
            client.jwt = login["result"]["jwt"]  # type: ignore[index]
            for n in range(3):
                await ws(
                    {
                        "controller": "security",
                        "action": "createUser",
                        "_id": f"u{n}",
                        "body": {
                            "content": {"profileIds": ["default"]},
                            "credentials": {"local": {"username": f"u{n}", "password": PASSWORDS[1]}},
                        },
                    }
                )
                await ws({"controller": "security", "action": "getUser", "_id": f"u{n}"})
                await ws(
                    {
                        "controller": "security",
                        "action": "getCredentials",
                        "_id": f"u{n}",
                        "strategy": "local",
                    }
                )
            await ws({"controller": "security", "action": "searchUsers", "body": {}})
            for _ in range(5):  # failed logins, then throttled ones, over both transports
                await ws(
                    {
                        "controller": "auth",
                        "action": "login",
                        "strategy": "local",
                        "jwt": None,
                        "body": {"username": "u0", "password": PASSWORDS[2]},
                    }
                )
                response = await http.post("/_login/local", json={"username": "u1", "password": PASSWORDS[2]})
                replies.append(response.text)
            # client errors of every kind
            await client.send_raw("{not json")
            replies.append(orjson.dumps(await client.next_unmatched()).decode())
            await ws({"controller": "nope", "action": "nope"})
            await ws({"controller": "security", "action": "createUser", "body": "x"})
            bad_token = await http.get("/_me", headers={"Authorization": "Bearer not.a.jwt"})
            replies.append(bad_token.text)
            replies.append((await http.post("/_query", content=b"{bad")).text)
        log = server.log()
    assert any("security.user" in r or '"_id":"u0"' in r for r in replies)  # the run did real work
    for text, where in [(log, "log"), *((r, "reply") for r in replies)]:
        for needle in (SECRET, *PASSWORDS, "$argon2", "$2b$", "Traceback (most recent call last)"):
            assert needle not in text, f"{needle!r} in a {where}: {text[:400]}"


def test_production_without_jwt_secret_refuses_to_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kserver",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--production",
            "true",
            "--storage",
            f"sqlite:///{tmp_path / 'k.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "production mode needs a configured JWT secret (--jwt-secret" in output, output[-2000:]
    assert "Traceback (most recent call last)" not in output, output[-2000:]
