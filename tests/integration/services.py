"""Where the integration tests get real Kafka and Neo4j from.

In order: addresses in LINEAGE_KAFKA_BOOTSTRAP / LINEAGE_NEO4J_URI; testcontainers when a
Docker engine answers; else the project's own local stack (``lineage stack up``) in a fresh
data folder on free ports, stopped again at the end of the session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lineage_stack.processes import free_port

STACK_START_TIMEOUT = 900  # a first run fetches the jars with Maven


@dataclass(frozen=True)
class Services:
    kafka_bootstrap: str
    neo4j_uri: str
    neo4j_user: str
    neo4j_password: str
    source: str  # "env", "testcontainers" or "local-stack"
    stack_data_dir: Path | None = None


class ServicesUnavailable(RuntimeError):
    pass


@contextmanager
def provide_services(tmp_dir: Path) -> Iterator[Services]:
    kafka, neo4j_uri = os.environ.get("LINEAGE_KAFKA_BOOTSTRAP"), os.environ.get("LINEAGE_NEO4J_URI")
    if kafka and neo4j_uri:
        yield Services(
            kafka,
            neo4j_uri,
            os.environ.get("LINEAGE_NEO4J_USER", "neo4j"),
            os.environ.get("LINEAGE_NEO4J_PASSWORD", ""),
            source="env",
        )
    elif docker_answers():
        with _containers() as services:
            yield services
    else:
        with _local_stack(tmp_dir / "stack") as services:
            yield services


def docker_answers() -> bool:
    """True when a Docker engine answers (the client alone is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=15, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


@contextmanager
def _containers() -> Iterator[Services]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.neo4j import Neo4jContainer

    with (
        KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as kafka,
        Neo4jContainer("neo4j:5.26-community") as neo,
    ):
        yield Services(
            kafka.get_bootstrap_server(),
            neo.get_connection_url(),
            neo.username,
            neo.password,
            source="testcontainers",
        )


def lineage_command(*args: str) -> list[str]:
    # faulthandler: a component that crashes in native code leaves its Python stacks in its log.
    return [sys.executable, "-X", "faulthandler", "-m", "lineage_cli", *args]


@contextmanager
def _local_stack(data_dir: Path) -> Iterator[Services]:
    ports = [
        "--kafka-port",
        str(free_port()),
        "--kafka-controller-port",
        str(free_port()),
        "--neo4j-port",
        str(free_port()),
        "--neo4j-http-port",
        str(free_port()),
    ]
    cmd = lineage_command("stack", "up", "--data-dir", str(data_dir), *ports, "--json")
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=STACK_START_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        _stack_down(data_dir)
        raise ServicesUnavailable(f"`lineage stack up` did not finish in {STACK_START_TIMEOUT}s") from exc
    if result.returncode != 0:
        _stack_down(data_dir)
        raise ServicesUnavailable(f"`lineage stack up` failed:\n{result.stderr[-4000:]}")
    info = json.loads(result.stdout)
    try:
        yield Services(info["kafka_bootstrap"], info["neo4j_uri"], "neo4j", "", "local-stack", data_dir)
    finally:
        _stack_down(data_dir)


def _stack_down(data_dir: Path) -> None:
    subprocess.run(
        lineage_command("stack", "down", "--data-dir", str(data_dir)),
        capture_output=True,
        timeout=120,
        check=False,
    )
