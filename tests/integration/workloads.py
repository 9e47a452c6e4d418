"""Workloads the integration tests publish, and how they read the resulting graph back.

``workload``: START and a terminal event per run over a small topology, some runs with parents;
``with_aliases_and_facets`` adds symlinks and per-run schema and SQL facets on shared datasets and
jobs. ``expected_runs`` is what the pure core says the runs are; ``export`` is a canonical dump of
the whole graph; ``process`` runs one undisturbed worker and sink over events on fresh topics.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import neo4j

from bench.common import export
from lineage.events import decode_run_event
from lineage.merge import MergedRun, merge_event
from lineage.settings import Settings
from producers.publisher import EventPublisher
from producers.topics import ensure_topics
from stream_processor.app import all_topics
from tests.integration.components import logs, running, wait_for

PRODUCER = "https://example.test/scale-out"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
RUNS = 400


def workload(seed: int = 7) -> list[dict[str, Any]]:
    """START and a terminal event per run over a small topology; some runs have parents."""
    rng = random.Random(seed)
    base = datetime(2026, 11, 20, tzinfo=UTC)
    events = []
    for i in range(RUNS):
        run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        job = f"job_{i % 25}"
        inputs = [{"namespace": "db", "name": f"t{rng.randrange(40)}"} for _ in range(2)]
        outputs = [{"namespace": "db", "name": f"t{40 + i % 25}"}]
        facets = {}
        if i % 5 == 0:
            facets["parent"] = {
                "run": {"runId": str(uuid.UUID(int=i + 1, version=4))},
                "job": {"namespace": "airflow", "name": f"dag_{i % 3}"},
            }
        start = base + timedelta(minutes=i)
        end_type = "FAIL" if i % 11 == 0 else "COMPLETE"
        for event_type, when in (("START", start), (end_type, start + timedelta(seconds=30 + i % 7))):
            events.append(
                {
                    "eventType": event_type,
                    "eventTime": when.isoformat(),
                    "run": {"runId": run_id, "facets": facets},
                    "job": {"namespace": "scale", "name": job},
                    "inputs": inputs,
                    "outputs": outputs if event_type != "START" else [],
                    "producer": PRODUCER,
                    "schemaURL": SCHEMA_URL,
                }
            )
    return events


def expected_runs(events: list[dict[str, Any]]) -> dict[str, tuple[str, str, str | None]]:
    merged: dict[str, MergedRun] = {}
    for raw in events:
        event = decode_run_event(json.dumps(raw))
        key = str(event.run.runId)
        merged[key] = merge_event(merged.get(key), event)
    return {
        k: (
            m.state.value,
            m.started_at.isoformat() if m.started_at else "",
            m.ended_at.isoformat() if m.ended_at else None,
        )
        for k, m in merged.items()
    }


def graph_runs(driver: neo4j.Driver) -> dict[str, tuple[str, str, str | None]]:
    records = driver.execute_query(
        "MATCH (r:Run)-[:INSTANCE_OF]->(:Job {namespace: 'scale'}) RETURN r.runId AS id, r.state AS state, "
        "r.startedAt AS s, r.endedAt AS e"
    ).records
    return {
        r["id"]: (
            r["state"],
            r["s"].to_native().isoformat() if r["s"] else "",
            r["e"].to_native().isoformat() if r["e"] else None,
        )
        for r in records
    }


def edge_counts(driver: neo4j.Driver) -> dict[str, int]:
    records = driver.execute_query("MATCH ()-[e]->() RETURN type(e) AS t, count(*) AS c").records
    return {r["t"]: r["c"] for r in records}


def with_aliases_and_facets(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every output path also names the table it backs, as Spark's integration reports it, and
    each run reports its own version of the output's schema, column lineage and its job's SQL:
    the datasets and jobs are shared by many runs, so these are only right if the latest wins."""
    out = []
    for event in events:
        event = json.loads(json.dumps(event))
        version = event["eventTime"][11:16]  # differs per run (and between a run's events)
        event["job"]["facets"] = {"sql": {"query": f"INSERT INTO t SELECT * FROM s -- {version}"}}
        for ds in event.get("outputs", []):
            ds["namespace"], ds["name"] = "s3a://lake/", f"/warehouse/{ds['name']}/"
            ds["facets"] = {
                "symlinks": {
                    "identifiers": [
                        {
                            "namespace": "hive://metastore:9083",
                            "name": f"db.{ds['name'].strip('/').split('/')[-1]}",
                            "type": "TABLE",
                        }
                    ]
                },
                "schema": {"fields": [{"name": "id", "type": "BIGINT", "description": f"as of {version}"}]},
                "columnLineage": {
                    "fields": {
                        "id": {
                            "inputFields": [
                                {
                                    "namespace": i["namespace"],
                                    "name": i["name"],
                                    "field": "id",
                                    "transformations": [
                                        {"type": "DIRECT", "subtype": "IDENTITY", "description": version}
                                    ],
                                }
                                for i in event.get("inputs", [])
                            ]
                        }
                    }
                },
            }
        out.append(event)
    return out


def process(settings: Settings, events: list[Any], driver: neo4j.Driver, log_dir: Path) -> dict[str, Any]:
    driver.execute_query("MATCH (n) DETACH DELETE n")
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    expected = expected_runs(events)
    with running(settings, "process", "sink", log_dir=log_dir) as procs:
        with EventPublisher(settings.kafka_bootstrap, settings.events_topic) as publisher:
            publisher.publish(events)
        wait_for(
            lambda: graph_runs(driver) == expected, 240, "every run as the events say", lambda: logs(log_dir), procs
        )
        return settled(driver)


def settled(driver: neo4j.Driver) -> dict[str, Any]:
    """The canonical export, once nothing has changed for 3 s (the last aliases and edges are in)."""
    last, stable_since = export(driver), time.monotonic()
    while time.monotonic() - stable_since < 3:
        time.sleep(0.5)
        now = export(driver)
        if now != last:
            last, stable_since = now, time.monotonic()
    return last


def fresh(settings: Settings, home: Path) -> Settings:
    tag = uuid.uuid4().hex[:10]
    return settings.model_copy(
        update={
            "events_topic": f"t-{tag}.events",
            "dlq_topic": f"t-{tag}.dlq",
            "runs_topic": f"t-{tag}.runs",
            "graph_topic": f"t-{tag}.graph",
            "graph_dlq_topic": f"t-{tag}.graph.dlq",
            "processor_group": f"t-{tag}-p",
            "sink_group": f"t-{tag}-s",
            "home": home,
        }
    )
