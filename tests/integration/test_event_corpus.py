"""The OpenLineage corpus and malformed input through the real processor and sink.

Every real event lands in Neo4j, and so does every other event that can be identified (the
invalid corpus's malformed facets, the spec's documentation examples among the templates); the
rest of the invalid events and templates and every malformed input is dead-lettered with its
reason; the worker keeps processing the events after them.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import neo4j
from confluent_kafka import Consumer, Producer

from lineage.events import InvalidEvent, decode_event
from lineage.naming import normalize, run_key
from lineage.settings import Settings
from producers.topics import ensure_topics
from stream_processor.app import all_topics
from tests.integration.components import logs, running, wait_for

OPENLINEAGE = Path(__file__).resolve().parents[3] / "shared" / "openlineage"
PRODUCER = "https://example.test/producer"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def corpus(group: str) -> dict[str, bytes]:
    out = {}
    for path in sorted((OPENLINEAGE / "events" / group).rglob("*.json")):
        data = json.loads(path.read_text())
        for i, event in enumerate(data if isinstance(data, list) else [data]):
            out[f"{group}:{path.relative_to(OPENLINEAGE)}#{i}"] = json.dumps(event).encode()
    return out


def run_event(run_id: str, event_type: str = "COMPLETE", job: str = "job", **extra: Any) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": "2026-11-20T10:00:00Z",
        "run": {"runId": run_id},
        "job": {"namespace": "ns", "name": job},
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        **extra,
    }


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": True}
    for _ in range(depth):
        value = {"n": value}
    return value


UNICODE_JOB = "Ünïcødé ジョブ 🚀"
CYPHER_JOB = "x'}) MATCH (n) DETACH DELETE n //"
CYPHER_DATASET = "`; DROP CONSTRAINT run_key; //"
GOOD_NESTING = 100


def malformed() -> tuple[dict[str, bytes], dict[str, str]]:
    """Bad inputs (key -> bytes) with the reason each must get; plus good odd ones (reason "")."""
    cases: dict[str, tuple[bytes, str]] = {
        "not-json": (b"this is not json", "not-json"),
        "bad-utf8": (b'\xff\xfe{"eventType": "START"}', "not-json"),
        "array": (b"[1, 2, 3]", "not-an-object"),
        "string": (b'"START"', "not-an-object"),
        "empty-object": (b"{}", "not-an-event"),
        "no-producer": (
            json.dumps({k: v for k, v in run_event(str(uuid.uuid4())).items() if k != "producer"}).encode(),
            "schema-invalid",
        ),
        "no-run-id": (json.dumps(run_event(str(uuid.uuid4())) | {"run": {}}).encode(), "missing-run-id"),
        "list-run-id": (json.dumps(run_event(str(uuid.uuid4())) | {"run": {"runId": [7]}}).encode(), "bad-run-id"),
        "bad-time": (
            json.dumps(run_event(str(uuid.uuid4())) | {"eventTime": "yesterday at noon"}).encode(),
            "bad-event-time",
        ),
        "10mb": (json.dumps(run_event(str(uuid.uuid4()), job="big") | {"pad": "x" * 10_000_000}).encode(), "too-large"),
        "too-deep": (
            json.dumps(
                run_event(str(uuid.uuid4()), run={"runId": str(uuid.uuid4()), "facets": {"custom": nested(400)}})
            ).encode(),
            "too-deep",
        ),
        "deep-ok": (
            json.dumps(
                run_event(
                    str(uuid.uuid4()),
                    job="deep",
                    run={"runId": str(uuid.uuid4()), "facets": {"custom": nested(GOOD_NESTING)}},
                )
            ).encode(),
            "",
        ),
        "unicode": (json.dumps(run_event(str(uuid.uuid4()), job=UNICODE_JOB), ensure_ascii=False).encode(), ""),
        "cypher": (
            json.dumps(
                run_event(str(uuid.uuid4()), job=CYPHER_JOB, outputs=[{"namespace": "db", "name": CYPHER_DATASET}])
            ).encode(),
            "",
        ),
    }
    return {k: raw for k, (raw, _) in cases.items()}, {k: reason for k, (_, reason) in cases.items()}


def publish(settings: Settings, messages: dict[str, bytes]) -> None:
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "message.max.bytes": 16_000_000,
            "linger.ms": 20,
            "enable.idempotence": True,
        }
    )
    for key, raw in messages.items():
        producer.produce(settings.events_topic, key=key.encode(), value=raw)
        producer.poll(0)
    assert producer.flush(60) == 0


def dead_letters(settings: Settings, expect: int) -> dict[str, dict[str, Any]]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
            "fetch.max.bytes": 52_428_800,
        }
    )
    consumer.subscribe([settings.dlq_topic])
    found: dict[str, dict[str, Any]] = {}
    try:

        def more() -> bool:
            for msg in consumer.consume(500, 1.0):
                if msg.error() is None:
                    found[(msg.key() or b"").decode()] = json.loads(msg.value() or b"{}")
            return len(found) >= expect

        wait_for(
            more,
            120,
            f"{expect} dead letters",
            lambda: f"got {len(found)}: {Counter(v['reason'] for v in found.values())}",
        )
    finally:
        consumer.close()
    return found


def test_corpus_and_malformed_input(settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path) -> None:
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    real, invalid, templates = corpus("real"), corpus("invalid"), corpus("templates")
    # The model decides (its unit tests pin what it takes); here, both doors' outcome must follow.
    refused = {key: _refusal(raw) for key, raw in (invalid | templates).items()}
    refused = {key: reason for key, reason in refused.items() if reason}
    taken = real | {key: raw for key, raw in (invalid | templates).items() if key not in refused}
    assert len(taken) == len(real) + 5 + 11  # five malformed facets, eleven documentation examples
    bad, reasons = malformed()
    sentinel = str(uuid.uuid4())
    expected_letters = len(refused) + sum(1 for r in reasons.values() if r)

    with running(settings, "process", "sink", log_dir=tmp_path / "logs") as procs:
        publish(settings, real | invalid | templates | bad)
        publish(settings, {"sentinel": json.dumps(run_event(sentinel, job="sentinel")).encode()})
        wait_for(
            lambda: (
                empty_graph.execute_query(
                    "MATCH (r:Run {runId: $id, state: 'COMPLETED'}) RETURN r", id=sentinel
                ).records
            ),
            180,
            "the event after the bad ones to land",
            lambda: logs(tmp_path / "logs"),
            procs,
        )
        letters = dead_letters(settings, expected_letters)
        wait_for(
            lambda: not _missing_real(empty_graph, taken),
            60,
            "the events taken in Neo4j",
            lambda: f"missing: {_missing_real(empty_graph, taken)}\n{logs(tmp_path / 'logs')}",
            procs,
        )
        assert all(p.poll() is None for p in procs), logs(tmp_path / "logs")

    # Nothing taken was dead-lettered, everything refused was, each with the reason it deserves.
    assert not set(letters) & set(taken), {k: letters[k]["message"] for k in set(letters) & set(taken)}
    assert {k: letters[k]["reason"] for k in refused} == refused
    by_reason = Counter(letters[k]["reason"] for k in templates if k in refused)
    assert by_reason["unresolved-placeholder"] >= 600, by_reason
    assert "processing-error" not in {v["reason"] for v in letters.values()}
    for key, reason in reasons.items():
        if reason:
            assert letters[key]["reason"] == reason, (key, letters[key])
            assert letters[key]["source"]["topic"] == settings.events_topic
        else:
            assert key not in letters, letters.get(key)
    assert letters["10mb"]["rawTruncated"] is True and letters["10mb"]["rawBytes"] > 10_000_000

    # Every real event is in the graph, as what it is (checked above), and so are the odd good ones.
    jobs = {
        r["name"] for r in empty_graph.execute_query("MATCH (j:Job {namespace: 'ns'}) RETURN j.name AS name").records
    }
    assert {UNICODE_JOB, CYPHER_JOB, "deep", "sentinel"} <= jobs
    datasets = empty_graph.execute_query(
        "MATCH (:Job {name: $job})<-[:INSTANCE_OF]-(:Run)-[:WROTE]->(d:Dataset) RETURN d.name AS name", job=CYPHER_JOB
    ).records
    assert [r["name"] for r in datasets] == [CYPHER_DATASET]
    (deep,) = empty_graph.execute_query(
        "MATCH (:Job {name: 'deep'})<-[:INSTANCE_OF]-(r:Run) RETURN r.facet_custom AS f"
    ).records
    assert json.dumps(json.loads(deep["f"])).count('"n"') == GOOD_NESTING  # kept whole
    constraints = empty_graph.execute_query("SHOW CONSTRAINTS YIELD name RETURN collect(name) AS names").records
    assert "run_key" in constraints[0]["names"]


def _refusal(raw: bytes) -> str | None:
    try:
        decode_event(raw)
    except InvalidEvent as exc:
        return exc.reason
    return None


def _missing_real(driver: neo4j.Driver, real: dict[str, bytes]) -> list[str]:
    """The events whose run, dataset or job is not in the graph yet."""
    missing = []
    for item, raw in real.items():
        event = json.loads(raw)
        if "run" in event:
            query, params = (
                "MATCH (:Run {runId: $id})-[:INSTANCE_OF]->(:Job) RETURN 1",
                {"id": str(run_key(event["run"]["runId"]))},
            )
        elif "dataset" in event:
            key = normalize(event["dataset"]["namespace"], event["dataset"]["name"])
            query, params = (
                "MATCH (d:Dataset {namespace: $ns, name: $name}) RETURN 1",
                {"namespace": key.namespace, "name": key.name},
            )
        else:
            query, params = ("MATCH (j:Job {namespace: $ns, name: $name}) RETURN 1", event["job"])
        params = {"id": params.get("id"), "ns": params.get("namespace"), "name": params.get("name")}
        if not driver.execute_query(query, params).records:
            missing.append(item)
    return missing
