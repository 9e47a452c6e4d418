"""Two processor workers in one group, one of them SIGKILLed and restarted half-way: the graph
still equals what the pure core says the events mean (what one undisturbed worker produces)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import neo4j

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


def test_two_workers_one_killed_and_restarted(settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"processor_session_timeout": 6.0})
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    events = workload()
    rng = random.Random(11)
    shuffled = events + rng.sample(events, len(events) // 4)  # duplicates too
    rng.shuffle(shuffled)
    first, second = shuffled[: len(shuffled) // 2], shuffled[len(shuffled) // 2 :]
    w1 = settings.model_copy(update={"home": tmp_path / "w1"})
    w2 = settings.model_copy(update={"home": tmp_path / "w2"})
    expected = expected_runs(events)

    with (
        running(settings, "sink", log_dir=tmp_path / "sink") as sink,
        running(w2, "process", log_dir=tmp_path / "w2") as p2,
    ):
        with running(w1, "process", log_dir=tmp_path / "w1a") as p1:
            with EventPublisher(settings.kafka_bootstrap, settings.events_topic) as publisher:
                publisher.publish(first)
            wait_for(
                lambda: len(graph_runs(empty_graph)) >= RUNS // 4,
                120,
                "some runs",
                lambda: logs(tmp_path),
                p1 + p2 + sink,
            )
            p1[0].kill()  # SIGKILL: no goodbye to the group, no flush
            p1[0].wait()
        with running(w1, "process", log_dir=tmp_path / "w1b") as p1:
            with EventPublisher(settings.kafka_bootstrap, settings.events_topic) as publisher:
                publisher.publish(second)
            wait_for(
                lambda: graph_runs(empty_graph) == expected,
                240,
                "the graph to match the events",
                lambda: f"{_diff(graph_runs(empty_graph), expected)}\n{logs(tmp_path)}",
                p1 + p2 + sink,
            )

    assert graph_runs(empty_graph) == expected
    # One INSTANCE_OF per run, no doubled edges despite duplicates, redelivery and the kill.
    counts = edge_counts(empty_graph)
    assert counts["INSTANCE_OF"] == RUNS
    assert counts["WROTE"] == RUNS
    assert counts["CHILD_OF"] == RUNS // 5


def _diff(got: dict[str, Any], want: dict[str, Any]) -> str:
    missing = [k for k in want if k not in got]
    wrong = [(k, got[k], want[k]) for k in want if k in got and got[k] != want[k]]
    return f"{len(got)}/{len(want)} runs; missing {len(missing)}; wrong {wrong[:3]}"
