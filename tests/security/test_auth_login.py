"""auth:login / logout / checkToken / refreshToken / createToken / getCurrentUser over WS and HTTP."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator

import jwt as pyjwt
import orjson
import pytest

from tests.conftest import storage_url
from tests.security.auth_world import SECRET, Recorder, SeedUser, http, recorder_fixture, seeded_server, ws
from tests.server_process import ServerProcess

ODD_KUID = "kuid>?~\x7f>>??~~é"  # bytes that base64url-encode to "-"/"_" unless escaped


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, engine_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    users = [
        SeedUser("alice-id", "alice", "alice-pw", content={"name": "Alice"}),
        SeedUser("bob-id", "bob", "bob-pw"),
        SeedUser(ODD_KUID, "odd", "odd-pw"),
        SeedUser("nocreds-id"),
    ]
    directory = tmp_path_factory.mktemp("auth-login")
    handle = seeded_server(directory, users, storage=storage_url(request, engine_name, directory))
    yield handle
    handle.stop()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield from recorder_fixture()


async def test_login_checktoken_logout_round_trip_ws(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        login = await client.login("alice", "alice-pw")
        assert login["_id"] == "alice-id"
        assert login["jwt"].startswith("kauth-")
        assert login["ttl"] == 3_600_000
        assert abs(login["expiresAt"] - (time.time() * 1000 + 3_600_000)) < 60_000
        check = await client.call("auth", "checkToken", body={"token": login["jwt"]})
        assert check == {"valid": True, "kuid": "alice-id", "expiresAt": login["expiresAt"]}
        me = await client.call("auth", "getCurrentUser", jwt=login["jwt"])
        assert me["_id"] == "alice-id"
        assert me["_source"]["name"] == "Alice"
        assert me["strategies"] == ["local"]
        assert await client.call("auth", "logout", jwt=login["jwt"]) == {"acknowledged": True}
        after = await client.call("auth", "checkToken", body={"token": login["jwt"]})
        assert after == {"valid": False, "state": "Invalid token."}
        error = await client.error("auth", "getCurrentUser", jwt=login["jwt"])
        assert error["id"] == "security.token.invalid"
        assert error["status"] == 401


async def test_login_round_trip_http(server: ServerProcess, recorder: Recorder) -> None:
    async with http(server, recorder) as client:
        login = await client.result("POST", "/_login/local", json={"username": "bob", "password": "bob-pw"})
        assert login["_id"] == "bob-id"
        me = await client.result("GET", "/_me", jwt=login["jwt"])
        assert me["_id"] == "bob-id"
        check = await client.result("POST", "/_checkToken", json={"token": login["jwt"]})
        assert check["valid"] is True
        assert await client.result("POST", "/_logout", jwt=login["jwt"]) == {"acknowledged": True}
        response = await client.request("GET", "/_me", jwt=login["jwt"])
        assert response.status_code == 401
        assert response.json()["error"]["id"] == "security.token.invalid"


async def test_cookie_auth_over_http(server: ServerProcess, recorder: Recorder) -> None:
    async with http(server, recorder) as client:
        response = await client.request(
            "POST", "/_login/local?cookieAuth", json={"username": "bob", "password": "bob-pw"}
        )
        result = response.json()["result"]
        assert "jwt" not in result
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("authToken=kauth-")
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert "Path=/" in cookie
        token = cookie.split(";")[0].split("=", 1)[1]
        assert (await client.result("POST", "/_checkToken", json={"token": token}))["valid"] is True
        # later requests authenticate with the cookie alone, as a browser sends it
        jar = {"Cookie": f"authToken={token}"}
        assert (await client.result("GET", "/_me", headers=jar))["_id"] == "bob-id"
        both = await client.request("GET", "/_me", headers=jar, jwt=token)
        assert both.json()["error"]["id"] == "security.token.verification_error"
        out = await client.request("POST", "/_logout?cookieAuth", headers=jar)
        assert out.headers["set-cookie"].startswith("authToken=null")
        after = await client.request("GET", "/_me", headers=jar)
        assert after.json()["error"]["id"] == "security.token.invalid"


async def test_unknown_user_and_wrong_password_are_indistinguishable(
    server: ServerProcess, recorder: Recorder
) -> None:
    async with ws(server, recorder) as client:
        wrong = await client.error(
            "auth", "login", strategy="local", body={"username": "alice", "password": "x"}
        )
        unknown = await client.error(
            "auth", "login", strategy="local", body={"username": "nobody", "password": "x"}
        )
        assert wrong == unknown
        assert wrong["id"] == "plugin.strategy.missing_user"
        assert wrong["status"] == 401
        assert wrong["message"] == "wrong username or password"
        missing = await client.error("auth", "login", strategy="local", body={"username": "alice"})
        assert missing["id"] == "plugin.strategy.missing_user"
        strategy = await client.error(
            "auth", "login", strategy="ldap", body={"username": "a", "password": "b"}
        )
        assert strategy["id"] == "security.credentials.unknown_strategy"


async def test_expires_in_rules(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        assert (await client.login("alice", "alice-pw", expiresIn="30s"))["ttl"] == 30_000
        assert (await client.login("alice", "alice-pw", expiresIn=1500))["ttl"] == 1500
        assert (await client.login("alice", "alice-pw", expiresIn="2h"))["ttl"] == 7_200_000
        infinite = await client.login("alice", "alice-pw", expiresIn=-1)
        assert infinite["expiresAt"] == -1
        assert infinite["ttl"] == -1
        claims = pyjwt.decode(infinite["jwt"][len("kauth-") :], SECRET, algorithms=["HS256"])
        assert "exp" not in claims
        assert claims["_id"] == "alice-id"
        for bad in (0, "soon", "0s"):
            error = await client.error(
                "auth",
                "login",
                strategy="local",
                body={"username": "alice", "password": "alice-pw"},
                expiresIn=bad,
            )
            assert error["id"] == "api.assert.invalid_argument", bad


async def test_sdk_safe_payload_for_odd_kuid(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        login = await client.login("odd", "odd-pw")
        assert login["_id"] == ODD_KUID
        payload_segment = login["jwt"].split(".")[1]
        assert "-" not in payload_segment
        assert "_" not in payload_segment
        decoded = base64.b64decode(payload_segment + "=" * (-len(payload_segment) % 4))
        assert decoded.isascii()
        claims = orjson.loads(decoded)
        assert claims["_id"] == ODD_KUID
        assert isinstance(claims["exp"], int)
        assert isinstance(claims["iat"], int)
        assert (await client.call("auth", "getCurrentUser", jwt=login["jwt"]))["_id"] == ODD_KUID


def _forge(claims: dict[str, object], key: str, algorithm: str) -> str:
    return "kauth-" + pyjwt.encode(claims, key, algorithm=algorithm)


async def test_forged_tokens_are_refused(server: ServerProcess, recorder: Recorder) -> None:
    now = int(time.time())
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(orjson.dumps({"_id": "alice-id", "iat": now, "exp": now + 60}))
    alg_none = "kauth-" + header + "." + body.rstrip(b"=").decode() + "."
    cases = {
        "alg none": (alg_none, "security.token.invalid"),
        "HS512": (
            _forge({"_id": "alice-id", "iat": now, "exp": now + 60}, SECRET, "HS512"),
            "security.token.invalid",
        ),
        "bad signature": (
            _forge({"_id": "alice-id", "iat": now, "exp": now + 60}, "not-the-secret-" + "y" * 40, "HS256"),
            "security.token.invalid",
        ),
        "expired": (
            _forge({"_id": "alice-id", "iat": now - 100, "exp": now - 50}, SECRET, "HS256"),
            "security.token.expired",
        ),
        "valid signature, never issued": (
            _forge({"_id": "alice-id", "iat": now, "exp": now + 60}, SECRET, "HS256"),
            "security.token.invalid",
        ),
        "garbage": ("kauth-garbage", "security.token.invalid"),
        "no prefix": ("abc.def.ghi", "security.token.invalid"),
    }
    async with ws(server, recorder) as client:
        for name, (token, error_id) in cases.items():
            # a supplied jwt is verified even for actions anonymous may run
            error = await client.error("server", "now", jwt=token)
            assert (error["id"], error["status"]) == (error_id, 401), name
            check = await client.call("auth", "checkToken", body={"token": token})
            assert check["valid"] is False, name


async def test_anonymous_checktoken_and_current_user(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        assert await client.call("auth", "checkToken", body={}) == {
            "valid": True,
            "kuid": "-1",
            "expiresAt": None,
        }
        me = await client.call("auth", "getCurrentUser")
        assert me == {
            "_id": "-1",
            "_source": {"name": "Anonymous", "profileIds": ["anonymous"]},
            "strategies": [],
        }
        error = await client.error("auth", "logout")
        assert error["id"] == "security.rights.unauthorized"
        assert await client.call("auth", "getStrategies") == ["local"]


async def test_refresh_token(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        login = await client.login("bob", "bob-pw")
        fresh = await client.call("auth", "refreshToken", jwt=login["jwt"], expiresIn="10m")
        assert fresh["_id"] == "bob-id"
        assert fresh["ttl"] == 600_000
        assert fresh["jwt"] != login["jwt"]
        # the old token lives for a 1 s grace period, and cannot be refreshed again
        again = await client.error("auth", "refreshToken", jwt=login["jwt"])
        assert again["id"] == "security.token.invalid"
        infinite = await client.login("bob", "bob-pw", expiresIn=-1)
        forbidden = await client.error("auth", "refreshToken", jwt=infinite["jwt"])
        assert forbidden["id"] == "security.token.refresh_forbidden"
        await asyncio.sleep(1.1)
        expired = await client.error("auth", "getCurrentUser", jwt=login["jwt"])
        assert expired["id"] == "security.token.expired"
        assert (await client.call("auth", "getCurrentUser", jwt=fresh["jwt"]))["_id"] == "bob-id"


async def test_create_token_single_use(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        login = await client.login("bob", "bob-pw")
        made = await client.call("auth", "createToken", jwt=login["jwt"], expiresIn="1m", singleUse=True)
        assert made["singleUse"] is True
        assert made["ttl"] == 60_000
        assert (await client.call("auth", "getCurrentUser", jwt=made["token"]))["_id"] == "bob-id"
        used = await client.error("auth", "getCurrentUser", jwt=made["token"])
        assert used["id"] == "security.token.invalid"
        infinite = await client.error("auth", "createToken", jwt=login["jwt"], expiresIn=-1)
        assert infinite["id"] == "security.token.invalid_expiration"


async def test_logout_global_revokes_every_session(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        first = await client.login("alice", "alice-pw")
        second = await client.login("alice", "alice-pw")
        assert first["jwt"] != second["jwt"]
        await client.call("auth", "logout", jwt=first["jwt"])
        assert (await client.call("auth", "checkToken", body={"token": second["jwt"]}))["valid"] is True
        third = await client.login("alice", "alice-pw")
        await client.call("auth", "logout", jwt=third["jwt"], **{"global": True})
        assert (await client.call("auth", "checkToken", body={"token": second["jwt"]}))["valid"] is False
