"""The same workload published in order and then shuffled with duplicates leaves identical graphs
(compared as a canonical export of every node and relationship with its properties)."""

from __future__ import annotations

import json
import random
import time
import uuid
from pathlib import Path
from typing import Any

import neo4j

from lineage.settings import Settings
from producers.publisher import EventPublisher
from producers.topics import ensure_topics
from stream_processor.app import all_topics
from tests.integration.components import logs, running, wait_for
from tests.integration.test_scale_out import expected_runs, graph_runs, workload


def with_aliases_and_facets(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every output path also names the table it backs, as Spark's integration reports it, and
    each run reports its own version of the output's schema and of its job's SQL: the datasets
    and jobs are shared by many runs, so their facets are only right if the latest one wins."""
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
            }
        out.append(event)
    return out


def export(driver: neo4j.Driver) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        return value.iso_format() if hasattr(value, "iso_format") else value

    nodes = driver.execute_query("MATCH (n) RETURN labels(n) AS l, properties(n) AS p").records
    rels = driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN type(r) AS t, properties(a) AS a, properties(b) AS b, properties(r) AS p"
    ).records

    def key(props: dict[str, Any]) -> str:
        return json.dumps({k: plain(v) for k, v in sorted(props.items())}, sort_keys=True)

    return {
        "nodes": sorted(f"{r['l']}{key(r['p'])}" for r in nodes),
        "rels": sorted(f"{r['t']}{key(r['a'])}->{key(r['b'])}{key(r['p'])}" for r in rels),
    }


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
        # Then until nothing changes any more (the last aliases and edges are written).
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
            "processor_group": f"t-{tag}-p",
            "sink_group": f"t-{tag}-s",
            "home": home,
        }
    )


def test_in_order_and_shuffled_with_duplicates_give_one_graph(
    settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path
) -> None:
    events = with_aliases_and_facets(workload(seed=3))
    rng = random.Random(5)
    shuffled = events + rng.sample(events, len(events) // 3)
    rng.shuffle(shuffled)

    in_order = process(fresh(settings, tmp_path / "a"), events, empty_graph, tmp_path / "a-logs")
    reordered = process(fresh(settings, tmp_path / "b"), shuffled, empty_graph, tmp_path / "b-logs")

    assert len(in_order["rels"]) > 1000  # the comparison is about a real graph
    assert any(r.startswith("ALIAS_OF") for r in in_order["rels"])
    assert any(r.startswith("CHILD_OF") for r in in_order["rels"])
    assert reordered == in_order
    # Shared jobs and datasets show the facets of their latest event, not of the last processed.
    latest_sql = max(
        (e["eventTime"], e["job"]["facets"]["sql"]["query"]) for e in events if e["job"]["name"] == "job_0"
    )[1]
    (job,) = [n for n in in_order["nodes"] if n.startswith("['Job']") and '"name": "job_0"' in n]
    assert json.dumps(json.dumps({"query": latest_sql}, sort_keys=True)) in job
