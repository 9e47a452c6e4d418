"""Kafka security end to end: a Kafka of the test's own with the local stack's SCRAM listener
(``lineage stack up --kafka-sasl-user``), the real components talking SASL_PLAINTEXT/SCRAM to it,
and a wrong password failing every command at once with one line."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import neo4j
import pytest
from pydantic import SecretStr

from lineage.settings import Settings
from lineage_stack import stack
from lineage_stack.processes import free_port
from tests.integration.components import logs, running, settings_env, wait_for
from tests.integration.services import lineage_command
from tests.integration.test_pipeline import run_event

USER = "lineage-app"
PASSWORD = "scram-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def scram_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A Kafka alone (Neo4j is the session's) with a SASL_PLAINTEXT listener and USER; its status."""
    config = stack.StackConfig(
        data_dir=tmp_path_factory.mktemp("scram") / "stack",
        cache_dir=Settings.from_env(os.environ).cache_dir,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_sasl_port=free_port(),
        kafka_sasl_user=USER,
        kafka_sasl_password=PASSWORD,
        services=("kafka",),
    )
    try:
        with warnings.catch_warnings():
            # The server outlives its Popen object on purpose (`lineage stack up` returns, it runs on).
            warnings.simplefilter("ignore", ResourceWarning)
            stack.up(config, log=lambda _: None)
            gc.collect()
        yield stack.status(config.data_dir)
    finally:
        stack.down(config.data_dir, log=lambda _: None)


def over_scram(settings: Settings, sasl_bootstrap: str, password: str = PASSWORD, **changes: object) -> Settings:
    return Settings(
        **{
            **settings.model_dump(),
            "kafka_bootstrap": sasl_bootstrap,
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_sasl_username": USER,
            "kafka_sasl_password": SecretStr(password),
            **changes,
        }
    )


def lineage(settings: Settings, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        lineage_command(*args), env=settings_env(settings), capture_output=True, text=True, timeout=timeout, check=False
    )


def test_stack_status_names_the_sasl_listener(scram_kafka: dict[str, str]) -> None:
    status = subprocess.run(
        lineage_command("stack", "status", "--data-dir", scram_kafka["data_dir"]),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert f"Kafka SASL_PLAINTEXT (SCRAM-SHA-256/512): {scram_kafka['kafka_sasl_bootstrap']}" in status.stdout


def test_components_carry_events_to_neo4j_over_scram(
    scram_kafka: dict[str, str], settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path
) -> None:
    secure = over_scram(settings, scram_kafka["kafka_sasl_bootstrap"], ingest_port=free_port())
    run_id, other_run = str(uuid.uuid4()), str(uuid.uuid4())
    events = tmp_path / "events.ndjson"
    events.write_text(f'{{"bad": "event"}}\n{json_line(run_event(other_run, "START", "2026-11-20T11:00:00Z"))}\n')
    with running(secure, "process", "sink", "ingest", log_dir=tmp_path / "logs") as procs:
        url = f"http://{secure.ingest_host}:{secure.ingest_port}/api/v1/lineage"

        def posted() -> bool:
            try:
                with httpx.Client(timeout=10) as client:
                    for kind, when in (("START", "2026-11-20T10:00:00Z"), ("COMPLETE", "2026-11-20T10:04:30Z")):
                        response = client.post(url, json=run_event(run_id, kind, when))
                        assert response.status_code == 201, response.text
            except httpx.TransportError:
                return False  # not listening yet
            return True

        wait_for(posted, 60, "the HTTP ingest over SCRAM", lambda: logs(tmp_path / "logs"), procs)
        published = lineage(secure, "publish", "--no-validate", str(events))
        assert published.returncode == 0, published.stdout + published.stderr

        def in_graph() -> bool:
            records, _, _ = empty_graph.execute_query(
                "MATCH (r:Run) WHERE r.runId IN $ids RETURN r.runId AS id, r.state AS state",
                ids=[run_id, other_run],
            )
            return {r["id"]: r["state"] for r in records} == {run_id: "COMPLETED", other_run: "RUNNING"}

        wait_for(in_graph, 90, "both runs in Neo4j", lambda: logs(tmp_path / "logs"), procs)

        def dead_letters() -> list[dict[str, Any]]:
            read = lineage(secure, "dlq", "--json")
            assert read.returncode == 0, read.stderr
            return list(json.loads(read.stdout))

        (letter,) = wait_for(dead_letters, 30, "the dead letter", lambda: logs(tmp_path / "logs"), procs)
        assert letter["source"]["topic"] == secure.events_topic


def json_line(event: object) -> str:
    return json.dumps(event, separators=(",", ":"))


@pytest.mark.parametrize("command", ["publish", "dlq", "process", "sink", "ingest"])
def test_a_wrong_password_fails_at_once_with_one_line(
    scram_kafka: dict[str, str], settings: Settings, command: str, tmp_path: Path
) -> None:
    wrong = over_scram(
        settings,
        scram_kafka["kafka_sasl_bootstrap"],
        password="not-the-password",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        ingest_port=free_port(),
    )
    events = tmp_path / "event.json"
    events.write_text(json_line(run_event(str(uuid.uuid4()), "START", "2026-11-20T10:00:00Z")))
    args = [command, str(events)] if command == "publish" else [command]
    started = time.monotonic()
    result = lineage(wrong, *args, timeout=60)
    took = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"lineage: error: Kafka at {scram_kafka['kafka_sasl_bootstrap']} refused the credentials for user {USER} "
        "(SASL SCRAM-SHA-256 authentication failed): check LINEAGE_KAFKA_SASL_USERNAME / "
        "LINEAGE_KAFKA_SASL_PASSWORD (and LINEAGE_KAFKA_SASL_MECHANISM)"
    ]
    assert took < 15, f"`lineage {command}` took {took:.1f} s to refuse"
