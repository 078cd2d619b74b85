"""Credential actions (security:* admin side and auth:*MyCredentials), password-change revocation,
imported hashes (argon2id PHC, bcrypt, passport-local PBKDF2) and their upgrade at login."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import argon2
import bcrypt
import pytest

from kserver.storage import engine_for_url
from tests.conftest import storage_url
from tests.security.auth_world import Recorder, SeedUser, http, recorder_fixture, seeded_server, ws
from tests.server_process import ServerProcess


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, engine_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    users = [SeedUser("carol-id", "carol", "carol-pw"), SeedUser("admin-id", "root", "root-pw")]
    users += [SeedUser(f"bare-{n}") for n in range(8)]
    directory = tmp_path_factory.mktemp("auth-credentials")
    handle = seeded_server(directory, users, storage=storage_url(request, engine_name, directory))
    yield handle
    handle.stop()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield from recorder_fixture()


async def stored_hash(server: ServerProcess, kuid: str) -> str:
    """Read the stored hash straight from the server's store (a second engine on the same store)."""
    engine = engine_for_url(server.storage)
    await engine.open([])
    try:
        stored = await engine.get("users", kuid)
    finally:
        await engine.close()
    assert stored is not None
    value: str = stored.source["credentials"]["local"]["hash"]
    return value


async def test_security_credential_actions(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        root = await client.login("root", "root-pw")
        jwt = root["jwt"]
        assert (
            await client.call("security", "hasCredentials", jwt=jwt, strategy="local", _id="bare-0") is False
        )
        assert await client.call("security", "getCredentials", jwt=jwt, strategy="local", _id="bare-0") == {}
        created = await client.call(
            "security",
            "createCredentials",
            jwt=jwt,
            strategy="local",
            _id="bare-0",
            body={"username": "dave", "password": "dave-pw"},
        )
        assert created == {"username": "dave", "kuid": "bare-0"}
        assert (
            await client.call("security", "hasCredentials", jwt=jwt, strategy="local", _id="bare-0") is True
        )
        assert (
            await client.call("security", "getCredentials", jwt=jwt, strategy="local", _id="bare-0")
            == created
        )
        by_name = await client.call("security", "getCredentialsById", jwt=jwt, strategy="local", _id="dave")
        assert by_name == created
        assert await client.call("security", "getCredentialsById", jwt=jwt, strategy="local", _id="zed") == {}
        await client.login("dave", "dave-pw")
        again = await client.error(
            "security",
            "createCredentials",
            jwt=jwt,
            strategy="local",
            _id="bare-0",
            body={"username": "x", "password": "y"},
        )
        assert again["id"] == "security.credentials.rejected"
        taken = await client.error(
            "security",
            "createCredentials",
            jwt=jwt,
            strategy="local",
            _id="bare-1",
            body={"username": "dave", "password": "other"},
        )
        assert taken["id"] == "security.credentials.rejected"
        assert "username already taken" in taken["message"]
        no_user = await client.error(
            "security",
            "createCredentials",
            jwt=jwt,
            strategy="local",
            _id="ghost",
            body={"username": "g", "password": "g"},
        )
        assert no_user["id"] == "security.user.not_found"
        valid = await client.call(
            "security",
            "validateCredentials",
            jwt=jwt,
            strategy="local",
            body={"username": "free", "password": "p"},
        )
        assert valid is True
        invalid = await client.error(
            "security",
            "validateCredentials",
            jwt=jwt,
            strategy="local",
            body={"username": "dave", "password": "p"},
        )
        assert invalid["id"] == "security.credentials.rejected"
        missing = await client.error(
            "security", "validateCredentials", jwt=jwt, strategy="local", body={"username": "q"}
        )
        assert missing["id"] == "api.assert.missing_argument"
        renamed = await client.call(
            "security",
            "updateCredentials",
            jwt=jwt,
            strategy="local",
            _id="bare-0",
            body={"username": "david"},
        )
        assert renamed == {"username": "david", "kuid": "bare-0"}
        await client.login("david", "dave-pw")
        assert (
            await client.error(
                "auth", "login", strategy="local", body={"username": "dave", "password": "dave-pw"}
            )
        )["id"] == "plugin.strategy.missing_user"
        fields = await client.call("security", "getCredentialFields", jwt=jwt, strategy="local")
        assert fields == ["username", "password"]
        assert await client.call("security", "getAllCredentialFields", jwt=jwt) == {
            "local": ["username", "password"]
        }
        unknown = await client.error("security", "getCredentialFields", jwt=jwt, strategy="ldap")
        assert unknown["id"] == "security.credentials.unknown_strategy"
        search = await client.call(
            "security",
            "searchUsersByCredentials",
            jwt=jwt,
            strategy="local",
            body={
                "query": {
                    "bool": {"should": [{"term": {"username": "david"}}, {"prefix": {"username": "ca"}}]}
                },
                "sort": [{"username": "asc"}],
            },
        )
        assert search == {
            "hits": [{"username": "carol", "kuid": "carol-id"}, {"username": "david", "kuid": "bare-0"}],
            "total": 2,
        }
        assert await client.call(
            "security", "deleteCredentials", jwt=jwt, strategy="local", _id="bare-0"
        ) == {"acknowledged": True}
        assert (
            await client.call("security", "hasCredentials", jwt=jwt, strategy="local", _id="bare-0") is False
        )
        gone = await client.error(
            "auth", "login", strategy="local", body={"username": "david", "password": "dave-pw"}
        )
        assert gone["id"] == "plugin.strategy.missing_user"


async def test_my_credentials_over_http(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        root = (await client.login("root", "root-pw"))["jwt"]
        await client.call(
            "security",
            "createCredentials",
            jwt=root,
            strategy="local",
            _id="bare-2",
            body={"username": "erin", "password": "erin-pw"},
        )
    async with http(server, recorder) as client:
        login = await client.result("POST", "/_login/local", json={"username": "erin", "password": "erin-pw"})
        jwt = login["jwt"]
        assert await client.result("GET", "/_me/credentials/local", jwt=jwt) == {
            "username": "erin",
            "kuid": "bare-2",
        }
        assert await client.result("GET", "/_me/credentials/local/_exists", jwt=jwt) is True
        assert (
            await client.result("POST", "/_me/credentials/local/_validate", jwt=jwt, json={"password": "n"})
            is True
        )
        anonymous = await client.request("GET", "/_me/credentials/local")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["id"] == "security.rights.unauthorized"
        other = await client.result("POST", "/_login/local", json={"username": "erin", "password": "erin-pw"})
        updated = await client.result(
            "PUT", "/_me/credentials/local/_update", jwt=jwt, json={"password": "erin-new"}
        )
        assert updated == {"username": "erin", "kuid": "bare-2"}
        # a password change revokes the user's other sessions at once, keeps the caller's
        revoked = await client.request("GET", "/_me", jwt=other["jwt"])
        assert revoked.json()["error"]["id"] == "security.token.invalid"
        assert (await client.result("GET", "/_me", jwt=jwt))["_id"] == "bare-2"
        assert (
            await client.result("POST", "/_login/local", json={"username": "erin", "password": "erin-new"})
        )["_id"] == "bare-2"
        assert await client.result("DELETE", "/_me/credentials/local", jwt=jwt) == {"acknowledged": True}
        assert await client.result("GET", "/_me/credentials/local/_exists", jwt=jwt) is False
        created = await client.result(
            "POST", "/_me/credentials/local/_create", jwt=jwt, json={"username": "erin2", "password": "pw2"}
        )
        assert created == {"username": "erin2", "kuid": "bare-2"}


async def test_admin_password_change_revokes_all_sessions(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        carol = await client.login("carol", "carol-pw")
        root = (await client.login("root", "root-pw"))["jwt"]
        await client.call(
            "security",
            "updateCredentials",
            jwt=root,
            strategy="local",
            _id="carol-id",
            body={"password": "carol-2"},
        )
        assert (await client.error("auth", "getCurrentUser", jwt=carol["jwt"]))[
            "id"
        ] == "security.token.invalid"
        wrong = await client.error(
            "auth", "login", strategy="local", body={"username": "carol", "password": "carol-pw"}
        )
        assert wrong["id"] == "plugin.strategy.missing_user"
        await client.login("carol", "carol-2")


def _passport_pbkdf2(password: str) -> dict[str, object]:
    salt = "ab" * 128
    derived = hashlib.pbkdf2_hmac("sha512", password.encode(), salt.encode(), 10_000, 512).hex()
    return {
        "userPassword": derived,
        "userSalt": salt,
        "algorithm": "sha512",
        "stretching": True,
        "pepper": False,
    }


def _passport_hmac(password: str) -> dict[str, object]:
    salt = "cd" * 16
    digest = hmac.new(salt.encode(), password.encode(), "sha256").hexdigest()
    return {
        "userPassword": digest,
        "userSalt": salt,
        "algorithm": "sha256",
        "stretching": False,
        "encryption": "hmac",
    }


IMPORTS: dict[str, object] = {
    "argon2id-strong": argon2.PasswordHasher(time_cost=3, memory_cost=8192, parallelism=2).hash("imp-pw"),
    "bcrypt": bcrypt.hashpw(b"imp-pw", bcrypt.gensalt(rounds=4)).decode(),
    "passport-pbkdf2": _passport_pbkdf2("imp-pw"),
    "passport-hmac": _passport_hmac("imp-pw"),
}


@pytest.mark.parametrize("kind", list(IMPORTS))
async def test_imported_hashes_log_in_and_are_upgraded(
    server: ServerProcess, recorder: Recorder, kind: str
) -> None:
    kuid = f"bare-{3 + list(IMPORTS).index(kind)}"
    username = f"imported-{kind}"
    async with ws(server, recorder) as client:
        root = (await client.login("root", "root-pw"))["jwt"]
        body: dict[str, object] = {"username": username, "hash": IMPORTS[kind]}
        if kind == "passport-pbkdf2":  # passport-local documents may also come flat
            body = {"username": username, **_passport_pbkdf2("imp-pw")}
        created = await client.call(
            "security", "createCredentials", jwt=root, strategy="local", _id=kuid, body=body
        )
        assert created == {"username": username, "kuid": kuid}
        before = await stored_hash(server, kuid)
        assert not before.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
        wrong = await client.error(
            "auth", "login", strategy="local", body={"username": username, "password": "nope"}
        )
        assert wrong["id"] == "plugin.strategy.missing_user"
        assert await stored_hash(server, kuid) == before  # a failed login upgrades nothing
        assert (await client.login(username, "imp-pw"))["_id"] == kuid
        after = await stored_hash(server, kuid)
        assert after.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
        assert (await client.login(username, "imp-pw"))["_id"] == kuid
        assert await stored_hash(server, kuid) == after  # current parameters: no re-hash


async def test_bad_imports_are_rejected(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        root = (await client.login("root", "root-pw"))["jwt"]
        for bad in (
            "$md5$abc",
            "$2b$04$short",
            "$argon2id$garbage",
            {"userPassword": "x"},
            {"userPassword": "x", "userSalt": "s", "algorithm": "md4"},
        ):
            error = await client.error(
                "security",
                "createCredentials",
                jwt=root,
                strategy="local",
                _id="bare-7",
                body={"username": "bad", "hash": bad},
            )
            assert error["id"] == "security.credentials.rejected", bad
        both = await client.error(
            "security",
            "createCredentials",
            jwt=root,
            strategy="local",
            _id="bare-7",
            body={"username": "bad", "password": "p", "hash": IMPORTS["bcrypt"]},
        )
        assert both["id"] == "api.assert.mutually_exclusive"
