"""Two processor workers in one group, one of them SIGKILLed and restarted half-way: the graph
equals what the pure core says the events mean, and the one a single undisturbed worker produces."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import neo4j

from lineage.mutations import NodeUpsert, decode_change_set
from lineage.settings import Settings
from producers.publisher import EventPublisher
from producers.topics import ensure_topics
from stream_processor.app import all_topics
from tests.integration.components import logs, running, topic_trace, wait_for
from tests.integration.workloads import (
    RUNS,
    edge_counts,
    expected_runs,
    fresh,
    graph_runs,
    process,
    settled,
    with_aliases_and_facets,
    workload,
)


def test_two_workers_one_killed_and_restarted(settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"processor_session_timeout": 6.0})
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    events = with_aliases_and_facets(workload())
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
                lambda: _explain(settings, graph_runs(empty_graph), expected, tmp_path),
                p1 + p2 + sink,
            )
            disturbed = settled(empty_graph)

    assert graph_runs(empty_graph) == expected
    # One INSTANCE_OF per run, no doubled edges despite duplicates, redelivery and the kill.
    counts = edge_counts(empty_graph)
    assert counts["INSTANCE_OF"] == RUNS
    assert counts["WROTE"] == RUNS
    assert counts["CHILD_OF"] == RUNS // 5
    # Everything else too: every node and relationship with every property, as one worker that
    # was never disturbed leaves them for the same events (sent once, in order).
    undisturbed = process(fresh(settings, tmp_path / "single"), events, empty_graph, tmp_path / "single-logs")
    assert disturbed == undisturbed


def _diff(got: dict[str, Any], want: dict[str, Any]) -> str:
    missing = [k for k in want if k not in got]
    wrong = [(k, got[k], want[k]) for k in want if k in got and got[k] != want[k]]
    return f"{len(got)}/{len(want)} runs; missing {len(missing)}; wrong {wrong[:3]}"


def _explain(settings: Settings, got: dict[str, Any], want: dict[str, Any], tmp_path: Path) -> str:
    """The difference, what the runs and graph topics carried for the runs that differ, and the logs."""
    wrong = {k.encode() for k in want if got.get(k) != want[k]}

    def event(value: bytes) -> str:
        data = json.loads(value)
        return f"{data.get('eventType')} {data.get('eventTime')}"

    def run_states(value: bytes) -> str:
        mutations, _ = decode_change_set(value)
        runs = [m for m in mutations if isinstance(m, NodeUpsert) and m.node.label == "Run" and m.props]
        return ", ".join(f"Run {m.node.key['runId'][:8]} {m.props.get('state')}" for m in runs) or "(no Run state)"

    traces = [
        topic_trace(settings.kafka_bootstrap, settings.runs_topic, wrong, event),
        topic_trace(settings.kafka_bootstrap, settings.graph_topic, wrong, run_states),
    ]
    return "\n".join([_diff(got, want), *traces, logs(tmp_path)])
