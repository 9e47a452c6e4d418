"""The HTTP ingest endpoint for real: uvicorn, the OpenLineage Python client's HttpTransport, Kafka."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import parent_run
from openlineage.client.serde import Serde
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)
from pydantic import SecretStr

from lineage.settings import Settings
from lineage_stack.processes import free_port
from producers.async_publisher import AsyncKafkaPublisher
from producers.http_ingest import ingest_server
from producers.topics import ensure_topics
from tests.integration.components import settings_env
from tests.integration.test_publisher import read_all

PRODUCER = "https://example.test/http-ingest-test"
API_KEY = "integration-key"


@contextmanager
def serving(settings: Settings, publisher: AsyncKafkaPublisher, ack_timeout: float = 30.0) -> Iterator[str]:
    """Run the app with uvicorn in a thread on a free port; yield its base URL; stop it."""
    server = ingest_server(settings, publisher, ack_timeout=ack_timeout)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    try:
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the ingest server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=40)
        sock.close()
    assert not thread.is_alive(), "the ingest server did not stop"


def ol_client(url: str, api_key: str | None = API_KEY, gzip: bool = False) -> OpenLineageClient:
    config = HttpConfig(
        url=url,
        endpoint="api/v1/lineage",
        auth=ApiKeyTokenProvider({"apiKey": api_key}) if api_key else TokenProvider({}),
        compression=HttpCompression.GZIP if gzip else None,
    )
    return OpenLineageClient(transport=HttpTransport(config))


def child_run_event() -> RunEvent:
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=str(uuid.uuid4())),
        job=parent_run.Job(namespace="airflow", name="dag.task"),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=str(uuid.uuid4())), job=parent_run.RootJob(namespace="airflow", name="dag")
        ),
    )
    return RunEvent(
        eventType=RunState.START,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=str(uuid.uuid4()), facets={"parent": parent}),
        job=Job(namespace="spark", name="app.stage ünïcødé"),
        producer=PRODUCER,
    )


def plain_run_event() -> RunEvent:
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="dbt", name="model"),
        producer=PRODUCER,
    )


def test_events_from_the_openlineage_http_transport_reach_kafka_intact(settings: Settings) -> None:
    settings = settings.model_copy(update={"ingest_api_keys": SecretStr(API_KEY)})
    ensure_topics(settings.kafka_bootstrap, [settings.events_topic], 1)
    publisher = AsyncKafkaPublisher(settings.kafka_bootstrap, settings.events_topic)
    child, plain = child_run_event(), plain_run_event()
    with serving(settings, publisher) as url:
        assert httpx.get(f"{url}/api/v1/health").json() == {"status": "ok"}
        ol_client(url, gzip=True).emit(child)
        ol_client(url).emit(plain)
        with pytest.raises(requests.HTTPError, match="401"):
            ol_client(url, api_key="wrong").emit(plain_run_event())
    got = read_all(settings, settings.events_topic, 2)
    assert got == [
        (b"run:airflow/dag", Serde.to_json(child).encode()),
        (b"run:dbt/model", Serde.to_json(plain).encode()),
    ]


def test_kafka_out_of_reach_is_503_not_201(settings: Settings) -> None:
    settings = settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    publisher = AsyncKafkaPublisher(settings.kafka_bootstrap, settings.events_topic, ack_timeout=1)
    with serving(settings, publisher, ack_timeout=1) as url:
        health = httpx.get(f"{url}/health", timeout=10)
        assert health.status_code == 503, health.text
        started = time.monotonic()
        response = httpx.post(
            f"{url}/api/v1/lineage",
            content=Serde.to_json(plain_run_event()),
            timeout=10,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 503, response.text
        assert response.json()["reason"] == "kafka-unavailable"
        assert time.monotonic() - started < 5


def test_run_ingest_creates_the_topic_serves_and_stops_on_sigterm(settings: Settings, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"ingest_port": free_port()})
    url = f"http://127.0.0.1:{settings.ingest_port}"
    code = (
        "import logging, os; logging.basicConfig(level='INFO');"
        "from lineage.settings import Settings; from producers.http_ingest import run_ingest;"
        "run_ingest(Settings.from_env(os.environ))"
    )
    log = tmp_path / "ingest.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            env=settings_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).parents[2],
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        event = plain_run_event()
        ol_client(url, api_key=None).emit(event)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=40)
    assert proc.returncode in (0, -signal.SIGTERM), log.read_text()
    assert read_all(settings, settings.events_topic, 1) == [(b"run:dbt/model", Serde.to_json(event).encode())]
