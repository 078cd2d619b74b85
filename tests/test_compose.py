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
    stages = [i for i, line in enumerate(instructions) if line.startswith("FROM ")]
    assert [instructions[i] for i in stages] == ["FROM python:3.11-slim AS build", "FROM python:3.11-slim"]
    build, final = instructions[: stages[1]], instructions[stages[1] :]
    copied = {source for line in build if line.startswith("COPY") for source in line.split()[1:-1]}
    assert {"kserver", "protocol", "pyproject.toml", "setup.py"} <= copied
    assert any(line.startswith("RUN apt-get") and " gcc " in line for line in build)  # mypyc's compiler
    assert any(line.startswith("RUN pip wheel") and line.endswith(" .") for line in build)
    assert "COPY --from=build /wheels /wheels" in final
    assert any(line.startswith("RUN pip install /wheels/") for line in final)
    assert any("kserver --version" in line and "grep -q" in line for line in final)  # compiled, or no image
    assert "EXPOSE 7512" in final
    assert final[-1] == 'CMD ["kserver"]'
    assert any(line.startswith("USER ") and "root" not in line for line in final)


def test_dockerignore_keeps_what_the_build_copies() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "tests"} <= ignored
    assert not ignored & {"kserver", "protocol", "pyproject.toml", "setup.py", "README.md"}
    assert "**/*.so" in ignored  # a checkout's compiled modules: the image compiles its own
