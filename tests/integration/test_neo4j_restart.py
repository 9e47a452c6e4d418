"""Neo4j stops and restarts while the sink is writing: afterwards the graph equals the one an
undisturbed pipeline makes of the same events (nothing lost, nothing doubled).

The restarted Neo4j is a stack of this test's own (`lineage stack up` in a temporary folder),
so stopping it disturbs no other test; the undisturbed graph is made on the shared services.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

from lineage.settings import Settings
from lineage_stack import neo4j_server
from lineage_stack.processes import free_port, stop
from lineage_stack.stack import read_state
from producers.publisher import EventPublisher
from producers.topics import ensure_topics
from stream_processor.app import all_topics
from tests.integration.components import logs, running, wait_for
from tests.integration.services import lineage_command
from tests.integration.workloads import (
    RUNS,
    expected_runs,
    fresh,
    graph_runs,
    process,
    settled,
    with_aliases_and_facets,
    workload,
)


def stack(data_dir: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        lineage_command("stack", "up", "--data-dir", str(data_dir), *args, "--json"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    debug_log = data_dir / "neo4j" / "logs" / "debug.log"
    detail = debug_log.read_text(errors="replace")[-3000:] if debug_log.exists() else "(no debug.log)"
    assert done.returncode == 0, f"{done.stderr[-3000:]}\nNeo4j's debug.log ends:\n{detail}"
    return json.loads(done.stdout)


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    data_dir = tmp_path / "stack"
    ports = ["--kafka-port", str(free_port()), "--kafka-controller-port", str(free_port())]
    try:
        yield data_dir, stack(data_dir, *ports, "--neo4j-port", str(free_port()), "--neo4j-http-port", str(free_port()))
    finally:
        subprocess.run(
            lineage_command("stack", "down", "--data-dir", str(data_dir)), capture_output=True, timeout=120, check=False
        )


def stop_neo4j(data_dir: Path) -> None:
    state = read_state(data_dir.resolve())
    assert state is not None
    pid = state.service(neo4j_server.NAME).pid
    assert pid is not None
    assert stop(pid, neo4j_server.marker(data_dir.resolve() / neo4j_server.NAME))


def test_a_neo4j_restart_while_the_sink_writes_loses_nothing(
    own_stack: tuple[Path, dict[str, Any]], settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path
) -> None:
    data_dir, info = own_stack
    events = with_aliases_and_facets(workload())
    own = fresh(settings, tmp_path / "own").model_copy(
        update={"kafka_bootstrap": info["kafka_bootstrap"], "neo4j_uri": info["neo4j_uri"]}
    )
    ensure_topics(own.kafka_bootstrap, all_topics(own), own.topic_partitions)
    expected = expected_runs(events)
    with neo4j.GraphDatabase.driver(own.neo4j_uri, notifications_min_severity="OFF") as driver:
        with running(own, "process", "sink", log_dir=tmp_path / "logs") as procs:
            half = len(events) // 2
            with EventPublisher(own.kafka_bootstrap, own.events_topic) as publisher:
                publisher.publish(events[:half])
            wait_for(lambda: len(graph_runs(driver)) >= RUNS // 10, 120, "some runs", lambda: logs(tmp_path / "logs"))
            stop_neo4j(data_dir)
            with EventPublisher(own.kafka_bootstrap, own.events_topic) as publisher:
                publisher.publish(events[half:])  # the sink's writes of these fail until Neo4j is back
            time.sleep(5)
            assert all(p.poll() is None for p in procs), logs(tmp_path / "logs")
            stack(data_dir)  # starts Neo4j again, on its port, with its data
            wait_for(
                lambda: graph_runs(driver) == expected,
                240,
                "the graph to match the events",
                lambda: logs(tmp_path / "logs"),
                procs,
            )
            disturbed = settled(driver)
        sink_log = (tmp_path / "logs" / "sink-1.log").read_text(errors="replace")
        # The sink did see Neo4j go away: the driver's own retries, then the sink's, if longer.
        assert "Transaction failed and will be retried" in sink_log or "Neo4j write failed, retrying" in sink_log

    undisturbed = process(fresh(settings, tmp_path / "single"), events, empty_graph, tmp_path / "single-logs")
    assert disturbed == undisturbed
