"""What an operator sees of the running pipeline: every component's /metrics moves as events,
dead letters and Neo4j writes happen; consumer lag rises while the sink is stopped and falls to
zero when it is back, on /metrics and in `lineage status --json`; /readyz turns ready."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import neo4j
import requests
from prometheus_client.parser import text_string_to_metric_families

from lineage.settings import Settings
from lineage_stack.processes import free_port
from producers.publisher import EventPublisher
from producers.topics import ensure_topics
from stream_processor.app import all_topics
from tests.integration.components import logs, running, settings_env, wait_for
from tests.integration.services import lineage_command

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/airflow"


def event(job: str, state: str = "COMPLETE") -> dict[str, Any]:
    return {
        "eventType": state,
        "eventTime": datetime.now(UTC).isoformat(),
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "ops", "name": job},
        "inputs": [{"namespace": "postgres://db:5432", "name": "shop.public.orders"}],
        "outputs": [{"namespace": "s3://lake", "name": f"marts/{job}"}],
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
    }


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a component's /metrics, by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def sink_lag(settings: Settings, port: int) -> float:
    samples = scrape(port)
    return sum(
        v
        for (name, labels), v in samples.items()
        if name == "lineage_consumer_lag" and ("group", settings.sink_group) in labels
    )


def status_json(settings: Settings) -> dict[str, Any]:
    out = subprocess.run(
        lineage_command("status", "--json", "--interval", "0.5"),
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


@contextmanager
def one(settings: Settings, component: str, log_dir: Path) -> Iterator[list[subprocess.Popen[Any]]]:
    with running(settings, component, log_dir=log_dir) as procs:
        yield procs


def test_metrics_lag_status_and_readiness_on_the_real_pipeline(
    settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path
) -> None:
    ports = {name: free_port() for name in ("ingest", "processor", "sink", "api")}
    settings = settings.model_copy(
        update={
            "ingest_port": free_port(),
            "api_port": free_port(),
            **{f"{name}_metrics_port": port for name, port in ports.items()},
            "processor_faust_metrics": True,
        }
    )
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    log_dir = tmp_path / "logs"
    ingest = f"http://127.0.0.1:{settings.ingest_port}/api/v1/lineage"

    def context() -> str:
        return logs(log_dir)

    with running(settings, "ingest", "process", "api", log_dir=log_dir) as procs:
        with one(settings, "sink", log_dir / "first") as sink:
            wait_for(lambda: all(ready(p) for p in ports.values()), 90, "every component ready", context, procs + sink)

            # Events through the HTTP door, one it refuses, and one the processor dead-letters.
            for i in range(20):
                assert requests.post(ingest, json=event(f"job_{i}"), timeout=10).status_code == 201
            assert requests.post(ingest, json={"eventType": "START"}, timeout=10).status_code == 400
            publisher = EventPublisher(settings.kafka_bootstrap, settings.events_topic)
            publisher.publish([b"this is not json"])
            publisher.flush(10)

            def settled() -> bool:
                """All 21 records read (the not-JSON one too), the 20 events merged, and the sink
                caught up with what that sent."""
                processor = scrape(ports["processor"])
                return (
                    value(processor, "lineage_records_consumed_total", topic=settings.events_topic) == 21
                    and value(processor, "lineage_events_merged_total") == 20
                    and sink_lag(settings, ports["processor"]) == 0
                    and value(scrape(ports["sink"]), "lineage_mutations_written_total") > 0
                )

            wait_for(
                settled,
                90,
                "the events written to Neo4j",
                context,
                procs + sink,
            )
            ingested = scrape(ports["ingest"])
            assert value(ingested, "lineage_ingest_requests_total", status="201") == 20
            assert value(ingested, "lineage_ingest_requests_total", status="400") == 1
            assert value(ingested, "lineage_records_produced_total", topic=settings.events_topic) == 20
            assert value(ingested, "lineage_ingest_request_seconds_count") == 21

            processed = scrape(ports["processor"])
            assert value(processed, "lineage_records_consumed_total", topic=settings.events_topic) == 21
            assert value(processed, "lineage_run_events_total", state="COMPLETE") == 20
            assert value(processed, "lineage_dead_letters_total", topic=settings.dlq_topic, reason="not-json") == 1
            assert value(processed, "lineage_mutations_sent_total") > 0
            assert value(processed, "lineage_events_merged_total") == 20
            assert value(processed, "lineage_merge_batch_seconds_count") > 0
            assert value(processed, "lineage_ready") == 1
            assert any(name.startswith("lineage_faust_") for name, _ in processed)  # Faust's own sensor, asked for

            written = scrape(ports["sink"])
            assert value(written, "lineage_records_consumed_total", topic=settings.graph_topic) > 0
            assert value(written, "lineage_sink_write_seconds_count") > 0
            assert value(written, "lineage_mutations_written_total") == value(
                written, "lineage_sink_transaction_mutations_sum"
            )

            api = f"http://127.0.0.1:{settings.api_port}/api/v1"
            assert requests.get(f"{api}/search", params={"q": "job_1"}, timeout=10).status_code == 200
            asked = scrape(ports["api"])
            assert value(asked, "lineage_api_requests_total", route="/api/v1/search", status="200") == 1

        # The sink stopped: lag on its group rises, seen by the processor and by `lineage status`.
        assert not ready(ports["sink"])
        for i in range(20, 30):
            assert requests.post(ingest, json=event(f"job_{i}"), timeout=10).status_code == 201
        wait_for(lambda: sink_lag(settings, ports["processor"]) > 0, 60, "sink lag to rise", context, procs)
        status = status_json(settings)
        (sink_stage,) = [s for s in status["stages"] if s["stage"] == "sink"]
        assert sink_stage["lag"] > 0
        assert status["components"]["sink"]["status"] == "not running here"
        assert status["components"]["processor"]["status"] == "ready"
        assert status["received"]["records"] == 31
        assert status["dead_letters"][settings.dlq_topic] == 1

        # Back: the lag falls to zero.
        with one(settings, "sink", log_dir / "second") as sink:
            wait_for(lambda: sink_lag(settings, ports["processor"]) == 0, 90, "sink lag to fall", context, procs + sink)
            wait_for(lambda: ready(ports["sink"]), 30, "the sink ready again", context, procs + sink)
            (sink_stage,) = [s for s in status_json(settings)["stages"] if s["stage"] == "sink"]
            assert sink_stage["lag"] == 0
            # The sink reports it too, once its lag thread has read again (every 5 s).
            wait_for(lambda: sink_lag(settings, ports["sink"]) == 0, 30, "the sink's own lag", context, procs + sink)
