"""API keys (auth:* for the caller, security:* for any user) and security:revokeTokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import storage_url
from tests.security.auth_world import Recorder, SeedUser, http, recorder_fixture, seeded_server, ws
from tests.server_process import ServerProcess


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, engine_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    users = [SeedUser("gina-id", "gina", "gina-pw"), SeedUser("hank-id", "hank", "hank-pw")]
    directory = tmp_path_factory.mktemp("auth-api-keys")
    handle = seeded_server(directory, users, storage=storage_url(request, engine_name, directory))
    yield handle
    handle.stop()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield from recorder_fixture()


async def test_my_api_keys(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        jwt = (await client.login("gina", "gina-pw"))["jwt"]
        key = await client.call("auth", "createApiKey", jwt=jwt, body={"description": "ci"}, _id="gina-ci")
        assert key["_id"] == "gina-ci"
        source = key["_source"]
        assert source["token"].startswith("kapikey-")
        assert (source["userId"], source["description"], source["expiresAt"], source["ttl"]) == (
            "gina-id",
            "ci",
            -1,
            -1,
        )
        assert len(source["fingerprint"]) == 64
        assert source["_kuzzle_info"]["author"] == "gina-id"
        token = source["token"]
        assert (await client.call("auth", "getCurrentUser", jwt=token))["_id"] == "gina-id"
        check = await client.call("auth", "checkToken", body={"token": token})
        assert check == {"valid": True, "kuid": "gina-id", "expiresAt": -1}
        await client.call("auth", "createApiKey", jwt=jwt, body={"description": "short"}, expiresIn="1h")
        found = await client.call(
            "auth", "searchApiKeys", jwt=jwt, body={"query": {"match": {"description": "ci"}}}
        )
        assert found["total"] == 1
        assert found["hits"][0]["_id"] == "gina-ci"
        assert "token" not in found["hits"][0]["_source"]
        everything = await client.call("auth", "searchApiKeys", jwt=jwt, body={})
        assert everything["total"] == 2
        # an API key survives logout and revokeTokens, not its own deletion
        await client.call("auth", "logout", jwt=token)
        await client.call("security", "revokeTokens", jwt=jwt, _id="gina-id")
        assert (await client.error("auth", "getCurrentUser", jwt=jwt))["id"] == "security.token.invalid"
        assert (await client.call("auth", "getCurrentUser", jwt=token))["_id"] == "gina-id"
        forbidden = await client.error("auth", "refreshToken", jwt=token)
        assert forbidden["id"] == "security.token.refresh_forbidden"
        assert await client.call("auth", "deleteApiKey", jwt=token, _id="gina-ci") == {"_id": "gina-ci"}
        assert (await client.error("auth", "getCurrentUser", jwt=token))["id"] == "security.token.invalid"
        duplicate = await client.call(
            "auth", "login", strategy="local", body={"username": "gina", "password": "gina-pw"}
        )
        await client.call("auth", "createApiKey", jwt=duplicate["jwt"], body={"description": "a"}, _id="dup")
        again = await client.error(
            "auth", "createApiKey", jwt=duplicate["jwt"], body={"description": "b"}, _id="dup"
        )
        assert again["id"] == "services.storage.document_already_exists"
        missing = await client.error("auth", "createApiKey", jwt=duplicate["jwt"], body={})
        assert missing["id"] == "api.assert.missing_argument"


async def test_security_api_keys_over_http(server: ServerProcess, recorder: Recorder) -> None:
    async with http(server, recorder) as client:
        admin = (
            await client.result("POST", "/_login/local", json={"username": "gina", "password": "gina-pw"})
        )["jwt"]
        key = await client.result(
            "POST", "/users/hank-id/api-keys/_create?expiresIn=2h", jwt=admin, json={"description": "bot"}
        )
        assert key["_source"]["userId"] == "hank-id"
        assert key["_source"]["ttl"] == 7_200_000
        assert key["_source"]["_kuzzle_info"]["author"] == "gina-id"
        token = key["_source"]["token"]
        assert (await client.result("GET", "/_me", jwt=token))["_id"] == "hank-id"
        found = await client.result("POST", "/users/hank-id/api-keys/_search", jwt=admin, json={})
        assert [hit["_id"] for hit in found["hits"]] == [key["_id"]]
        other = await client.request("DELETE", f"/users/gina-id/api-keys/{key['_id']}", jwt=admin)
        assert other.status_code == 404
        assert other.json()["error"]["id"] == "services.storage.not_found"
        deleted = await client.result("DELETE", f"/users/hank-id/api-keys/{key['_id']}", jwt=admin)
        assert deleted == {"_id": key["_id"]}
        assert (await client.request("GET", "/_me", jwt=token)).status_code == 401
        ghost = await client.request(
            "POST", "/users/ghost/api-keys/_create", jwt=admin, json={"description": "x"}
        )
        assert ghost.json()["error"]["id"] == "security.user.not_found"


async def test_revoke_tokens_is_immediate(server: ServerProcess, recorder: Recorder) -> None:
    async with ws(server, recorder) as client:
        sessions = [(await client.login("hank", "hank-pw"))["jwt"] for _ in range(3)]
        admin = (await client.login("gina", "gina-pw"))["jwt"]
        assert await client.call("security", "revokeTokens", jwt=admin, _id="hank-id") is None
        for jwt in sessions:
            assert (await client.error("auth", "getCurrentUser", jwt=jwt))["id"] == "security.token.invalid"
        assert (await client.call("auth", "getCurrentUser", jwt=admin))["_id"] == "gina-id"
