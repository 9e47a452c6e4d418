"""docker-compose.yml and the Dockerfile agree with the code: settings, subcommands, ports, versions."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from lineage.settings import ENV_PREFIX, Settings
from lineage_cli.main import _parser
from lineage_stack.kafka_server import KAFKA_VERSION
from lineage_stack.neo4j_server import NEO4J_VERSION

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
APPS = {"ingest": "ingest", "processor": "process", "sink": "sink", "api": "api"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _published(service: dict[str, Any]) -> dict[int, int]:
    """Host port -> container port, from short ("[ip:]host:container") or long port syntax."""
    ports = {}
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports[int(port["published"])] = int(port["target"])
        else:
            *_, host, container = str(port).split(":")
            ports[int(host)] = int(container)
    return ports


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _image_version(service: dict[str, Any]) -> str:
    return service["image"].split(":", 1)[1]


def _major_minor(version: str) -> str:
    match = re.match(r"\d+\.\d+", version)
    assert match, version
    return match.group()


def test_services_exist(services: dict[str, Any]) -> None:
    assert {"kafka", "neo4j", *APPS} <= services.keys()


@pytest.mark.parametrize("name", APPS)
def test_app_env_names_real_settings(services: dict[str, Any], name: str) -> None:
    env = _env(services[name])
    lineage_vars = {k for k in env if k.startswith(ENV_PREFIX)}
    assert lineage_vars, f"{name} sets no LINEAGE_* variables"
    unknown = {k for k in lineage_vars if k[len(ENV_PREFIX) :].lower() not in Settings.model_fields}
    assert not unknown, f"{name} sets variables Settings does not read: {sorted(unknown)}"
    assert env.keys() == lineage_vars, "app services are configured only through LINEAGE_* variables"
    settings = Settings.from_env(env)  # the values must also validate
    assert settings.neo4j_uri == f"bolt://neo4j:{_port(Settings().neo4j_uri)}"
    assert settings.events_topic == Settings().events_topic


@pytest.mark.parametrize(("name", "command"), APPS.items())
def test_app_commands_are_real_subcommands(services: dict[str, Any], name: str, command: str) -> None:
    service = services[name]
    argv = service["command"] if isinstance(service["command"], list) else service["command"].split()
    assert argv == [command]
    assert callable(_parser().parse_args(argv).handler)
    assert service["build"] in (".", {"context": "."})
    assert {d: c["condition"] for d, c in service["depends_on"].items()} == {
        "kafka": "service_healthy",
        "neo4j": "service_healthy",
    }


def test_kafka_serves_host_and_containers(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    host_port = _port(Settings().kafka_bootstrap)
    assert _published(kafka).get(host_port) == host_port
    env = _env(kafka)
    advertised = {a.split("://", 1)[1] for a in env["KAFKA_ADVERTISED_LISTENERS"].split(",")}
    assert f"localhost:{host_port}" in advertised
    for name in APPS:
        assert _env(services[name])["LINEAGE_KAFKA_BOOTSTRAP"] in advertised
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert "healthcheck" in kafka and "kafka-data" in str(kafka["volumes"])


def test_neo4j_bolt_published_without_auth(services: dict[str, Any]) -> None:
    neo4j = services["neo4j"]
    bolt = _port(Settings().neo4j_uri)
    assert _published(neo4j).get(bolt) == bolt
    assert _env(neo4j)["NEO4J_AUTH"] == "none"
    for name in APPS:  # no password set, so the app connects without auth, as the server expects
        assert Settings.from_env(_env(services[name])).neo4j_auth is None
    assert "healthcheck" in neo4j and "neo4j-data" in str(neo4j["volumes"])


def test_image_versions_match_local_stack(services: dict[str, Any]) -> None:
    neo4j_tag = _image_version(services["neo4j"])
    assert _major_minor(neo4j_tag) == _major_minor(NEO4J_VERSION) == "5.26"
    assert neo4j_tag.endswith("-community")
    assert _major_minor(_image_version(services["kafka"])) == _major_minor(KAFKA_VERSION)


def test_dockerfile_entrypoint_is_the_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["lineage"] == "lineage_cli.main:main"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r'^ENTRYPOINT \["lineage"\]$', dockerfile, re.MULTILINE)
    assert re.search(r"^USER (?!root)\S+$", dockerfile, re.MULTILINE)


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return result.returncode == 0


@pytest.mark.skipif(not _compose_available(), reason="`docker compose version` fails: no Compose plugin")
def test_docker_compose_config_is_valid() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("name", "command"), APPS.items())
def test_each_app_is_checked_on_its_readiness_endpoint(services: dict[str, Any], name: str, command: str) -> None:
    setting = {"ingest": "ingest", "process": "processor", "sink": "sink", "api": "api"}[command]
    port = Settings.model_fields[f"{setting}_metrics_port"].default
    probe = " ".join(services[name]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/readyz" in probe
    assert Settings.from_env(_env(services[name])).metrics_host == "0.0.0.0"
