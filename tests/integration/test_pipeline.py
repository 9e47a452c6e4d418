"""The walking skeleton end to end: publisher -> Kafka -> Faust processor -> Kafka -> sink -> Neo4j."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import neo4j
from confluent_kafka import Consumer

from lineage.mutations import decode_change_set
from lineage.settings import Settings
from producers.publisher import EventPublisher
from producers.topics import ensure_topics
from stream_processor.app import all_topics
from tests.integration.components import logs, running, wait_for

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/client/python"


def run_event(run_id: str, event_type: str, event_time: str) -> dict[str, Any]:
    schema = {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
        "fields": [{"name": "id", "type": "BIGINT"}, {"name": "amount", "type": "DECIMAL(10,2)"}],
    }
    return {
        "eventType": event_type,
        "eventTime": event_time,
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": "airflow-prod", "name": "orders_daily.load"},
        "inputs": [{"namespace": "postgres://db:5432", "name": "shop.public.orders", "facets": {"schema": schema}}],
        "outputs": [{"namespace": "s3://warehouse", "name": "marts/orders_daily", "facets": {"schema": schema}}],
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }


def test_start_and_complete_reach_neo4j(settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path) -> None:
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    run_id = str(uuid.uuid4())
    with running(settings, "process", "sink", log_dir=tmp_path / "logs") as procs:
        with EventPublisher(settings.kafka_bootstrap, settings.events_topic) as publisher:
            publisher.publish(
                [
                    run_event(run_id, "START", "2026-11-20T10:00:00.000Z"),
                    b"this is not an OpenLineage event",
                    run_event(run_id, "COMPLETE", "2026-11-20T10:04:30.500Z"),
                ]
            )

        def completed() -> list[neo4j.Record]:
            records, _, _ = empty_graph.execute_query(
                "MATCH (r:Run {runId: $id}) WHERE r.state = 'COMPLETED' RETURN r", id=run_id
            )
            return records

        wait_for(completed, 120, "the run to be COMPLETED in Neo4j", lambda: logs(tmp_path / "logs"), procs)
        # The sink may still be writing the rest of the batch; wait for the WROTE edge too.
        wait_for(
            lambda: empty_graph.execute_query("MATCH (:Run)-[w:WROTE]->() RETURN w").records,
            60,
            "the WROTE edge",
            lambda: logs(tmp_path / "logs"),
            procs,
        )

    records, _, _ = empty_graph.execute_query(
        """
        MATCH (r:Run {runId: $id})-[:INSTANCE_OF]->(j:Job)
        MATCH (r)-[:READ]->(src:Dataset)
        MATCH (r)-[:WROTE]->(dst:Dataset)
        RETURN j.namespace AS jns, j.name AS jname, r.state AS state,
               r.startedAt AS startedAt, r.endedAt AS endedAt,
               src.namespace AS src_ns, src.name AS src, dst.namespace AS dst_ns, dst.name AS dst
        """,
        id=run_id,
    )
    assert len(records) == 1
    row = records[0]
    assert (row["jns"], row["jname"]) == ("airflow-prod", "orders_daily.load")
    assert row["state"] == "COMPLETED"
    assert row["startedAt"].to_native().isoformat() == "2026-11-20T10:00:00+00:00"
    assert row["endedAt"].to_native().isoformat() == "2026-11-20T10:04:30.500000+00:00"
    assert (row["src_ns"], row["src"]) == ("postgres://db:5432", "shop.public.orders")
    assert (row["dst_ns"], row["dst"]) == ("s3://warehouse", "marts/orders_daily")

    counts, _, _ = empty_graph.execute_query(
        """
        MATCH (n) WITH labels(n)[0] AS label, count(*) AS c RETURN label, c ORDER BY label
        """
    )
    # Two datasets with two schema fields each; exactly one Job and one Run: nothing doubled.
    assert {r["label"]: r["c"] for r in counts} == {"Dataset": 2, "Field": 4, "Job": 1, "Run": 1}
    fields, _, _ = empty_graph.execute_query(
        "MATCH (d:Dataset {name: 'shop.public.orders'})-[:HAS_FIELD]->(f:Field) "
        "RETURN f.field AS f, f.type AS t ORDER BY f"
    )
    assert [(r["f"], r["t"]) for r in fields] == [("amount", "DECIMAL(10,2)"), ("id", "BIGINT")]

    # The bad message was dead-lettered with its reason and exact bytes, and did not stop the worker.
    letters = _consume_all(settings, settings.dlq_topic, expect=1)
    assert letters[0]["reason"] == "not-json"
    assert base64.b64decode(letters[0]["raw"]) == b"this is not an OpenLineage event"
    assert letters[0]["source"]["topic"] == settings.events_topic


def _consume_all(settings: Settings, topic: str, expect: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"check-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    found: list[dict[str, Any]] = []
    try:
        wait_for(
            lambda: (
                found.extend(json.loads(m.value()) for m in consumer.consume(10, 1.0) if m.error() is None)
                or len(found) >= expect
            ),
            timeout,
            f"{expect} message(s) on {topic}",
            lambda: f"got {found}",
        )
    finally:
        consumer.close()
    return found


def test_a_restarted_processor_recovers_run_state_from_the_changelog(
    settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path
) -> None:
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    run_id = str(uuid.uuid4())

    def run_state() -> list[neo4j.Record]:
        return empty_graph.execute_query(
            "MATCH (r:Run {runId: $id}) RETURN r.state AS state, r.startedAt AS s, r.endedAt AS e", id=run_id
        ).records

    with running(settings, "sink", log_dir=tmp_path / "sink-logs") as sink:
        with running(settings, "process", log_dir=tmp_path / "first") as procs:
            with EventPublisher(settings.kafka_bootstrap, settings.events_topic) as publisher:
                publisher.publish([run_event(run_id, "START", "2026-11-20T10:00:00Z")])
            wait_for(
                lambda: [r for r in run_state() if r["state"] == "RUNNING"],
                120,
                "the RUNNING run",
                lambda: logs(tmp_path / "first"),
                procs + sink,
            )
        # The first worker is gone; its successor only sees COMPLETE and must remember the START.
        with running(settings, "process", log_dir=tmp_path / "second") as procs:
            with EventPublisher(settings.kafka_bootstrap, settings.events_topic) as publisher:
                publisher.publish([run_event(run_id, "COMPLETE", "2026-11-20T10:07:00Z")])
            wait_for(
                lambda: [r for r in run_state() if r["state"] == "COMPLETED"],
                120,
                "the COMPLETED run",
                lambda: logs(tmp_path / "second"),
                procs + sink,
            )
    (record,) = run_state()
    assert record["s"].to_native().isoformat() == "2026-11-20T10:00:00+00:00"  # from the recovered state
    assert record["e"].to_native().isoformat() == "2026-11-20T10:07:00+00:00"


def test_what_neo4j_refuses_is_dead_lettered_and_the_rest_of_the_run_lands(
    settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path
) -> None:
    """A dataset name too long for Neo4j's key index: that dataset goes to the graph DLQ with
    the reason; the run, its job and its other datasets are written, and so are later events."""
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    huge = "x" * 40_000
    bad_run, good_run = str(uuid.uuid4()), str(uuid.uuid4())
    bad = run_event(bad_run, "COMPLETE", "2026-11-20T10:04:30.500Z")
    bad["outputs"] = [{"namespace": "s3://warehouse", "name": huge, "facets": {}}]
    with running(settings, "process", "sink", log_dir=tmp_path / "logs") as procs:
        with EventPublisher(settings.kafka_bootstrap, settings.events_topic) as publisher:
            publisher.publish([bad, run_event(good_run, "COMPLETE", "2026-11-20T11:00:00Z")])
        wait_for(
            lambda: len(empty_graph.execute_query("MATCH (r:Run) RETURN r").records) == 2,
            120,
            "both runs in Neo4j",
            lambda: logs(tmp_path / "logs"),
            procs,
        )
        letters = _consume_all(settings, settings.graph_dlq_topic, expect=1)
        assert all(p.poll() is None for p in procs)  # the sink carried on

    (letter,) = letters
    assert letter["reason"] == "neo4j-refused"
    assert "too large to index" in letter["message"]
    refused, problems = decode_change_set(base64.b64decode(letter["raw"]))
    assert not problems and {json.dumps(m.model_dump(), sort_keys=True).count(huge) > 0 for m in refused} == {True}
    (row,) = empty_graph.execute_query(
        "MATCH (r:Run {runId: $id})-[:READ]->(d:Dataset) RETURN r.state AS state, d.name AS input", id=bad_run
    ).records
    assert (row["state"], row["input"]) == ("COMPLETED", "shop.public.orders")
    assert not empty_graph.execute_query("MATCH (d:Dataset) WHERE size(d.name) > 1000 RETURN d").records
