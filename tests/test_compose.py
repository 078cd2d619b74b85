"""docker-compose.yml, Dockerfile and .dockerignore, checked statically (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from kserver.storage import engine_for_url
from kserver.storage.mongodb import MongoEngine

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def test_services(services: dict[str, Any]) -> None:
    assert set(services) == {"mongodb", "kserver"}


def test_mongodb_is_a_single_node_replica_set(services: dict[str, Any]) -> None:
    mongodb = services["mongodb"]
    assert re.fullmatch(r"mongo:8(\.\d+)*", mongodb["image"])
    command = mongodb["command"]
    assert command[0] == "mongod"
    assert command[command.index("--replSet") + 1] == "rs0"
    assert "--bind_ip_all" in command  # reachable from the kserver container


def test_mongodb_health_check_initiates_the_replica_set(services: dict[str, Any]) -> None:
    check = services["mongodb"]["healthcheck"]
    assert check["test"][:2] == ["CMD", "mongosh"]
    script = check["test"][-1]
    assert "rs.initiate(" in script
    assert "_id: 'rs0'" in script
    assert "try { rs.status() }" in script  # only when not initiated yet
    assert "host: 'mongodb:27017'" in script  # the member name other containers resolve
    assert "isWritablePrimary" in script  # healthy means writable, not just started
    assert "$" not in script  # compose would interpolate it
    assert check["retries"] >= 10


def test_kserver_is_built_here_and_published_on_7512(services: dict[str, Any]) -> None:
    kserver = services["kserver"]
    assert kserver["build"] == "."
    assert kserver["ports"] == ["7512:7512"]
    assert kserver["depends_on"] == {"mongodb": {"condition": "service_healthy"}}


def test_storage_url_points_at_the_replica_set(services: dict[str, Any]) -> None:
    url = services["kserver"]["environment"]["KSERVER_STORAGE"]
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == ("mongodb", "mongodb", 27017, "/kserver")
    replica_set = services["mongodb"]["command"][services["mongodb"]["command"].index("--replSet") + 1]
    assert parse_qs(parts.query) == {"replicaSet": [replica_set]}
    assert isinstance(engine_for_url(url), MongoEngine)  # builds without connecting


def test_mongodb_data_is_in_a_named_volume(compose: dict[str, Any], services: dict[str, Any]) -> None:
    mounts = [m.split(":") for m in services["mongodb"]["volumes"]]
    assert mounts == [["mongodb-data", "/data/db"]]
    assert "mongodb-data" in compose["volumes"]


def test_dockerfile_installs_the_package_and_runs_kserver() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    copied = {line.split()[1] for line in instructions if line.startswith("COPY")}
    assert {"kserver", "protocol", "pyproject.toml"} <= copied
    assert any(line.startswith("RUN pip install .") for line in instructions)
    assert "EXPOSE 7512" in instructions
    assert instructions[-1] == 'CMD ["kserver"]'
    assert any(line.startswith("USER ") and "root" not in line for line in instructions)


def test_dockerignore_keeps_what_the_build_copies() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "tests"} <= ignored
    assert not ignored & {"kserver", "protocol", "pyproject.toml", "README.md"}
