"""What the benchmarks share: fresh topics and groups, Kafka progress, the processes they start,
their peak memory, and percentiles."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import neo4j
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from lineage.settings import Settings
from producers.topics import ensure_topics
from stream_processor.app import all_topics

PARTITIONS = 6
# What a new group on a new Kafka may answer for a while before its coordinator is ready.
TRANSIENT = (
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError._TIMED_OUT,
)


@dataclass
class Pipeline:
    """Settings of a pipeline of its own: uuid-named topics and groups, a home of its own."""

    settings: Settings
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def fresh(cls, base: Settings, home: Path) -> Pipeline:
        tag = f"bench-{uuid.uuid4().hex[:8]}"
        names = {
            "events_topic": f"{tag}.openlineage.events",
            "dlq_topic": f"{tag}.openlineage.events.dlq",
            "runs_topic": f"{tag}.lineage.runs",
            "graph_topic": f"{tag}.lineage.graph",
            "graph_dlq_topic": f"{tag}.lineage.graph.dlq",
            "processor_group": f"{tag}-processor",
            "sink_group": f"{tag}-sink",
        }
        settings = base.model_copy(update={**names, "topic_partitions": PARTITIONS, "home": home})
        env = dict(
            os.environ,
            LINEAGE_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
            LINEAGE_NEO4J_URI=settings.neo4j_uri,
            LINEAGE_TOPIC_PARTITIONS=str(PARTITIONS),
            LINEAGE_HOME=str(home),
            LINEAGE_LOG_LEVEL="WARNING",
            **{f"LINEAGE_{k.upper()}": v for k, v in names.items()},
            # Several components of a kind at once, beside whatever else runs here: no operations
            # ports, unless the environment names one (to measure what metrics cost, say).
            **{
                f"LINEAGE_{c}_METRICS_PORT": os.environ.get(f"LINEAGE_{c}_METRICS_PORT", "0")
                for c in ("INGEST", "PROCESSOR", "SINK", "API")
            },
        )
        ensure_topics(settings.kafka_bootstrap, all_topics(settings), PARTITIONS)
        return cls(settings, home, env)

    def start(self, component: str, log: Path, core: int | None = None) -> subprocess.Popen[bytes]:
        """``lineage <component>`` in the background (pinned to ``core`` if taskset exists)."""
        pin = ["taskset", "-c", str(core)] if core is not None and shutil.which("taskset") else []
        with log.open("ab") as out:
            return subprocess.Popen(
                [*pin, sys.executable, "-m", "lineage_cli", component], env=self.env, stdout=out, stderr=out
            )


def arguments(doc: str | None, topology: bool = False) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring's first paragraph, ``--json FILE``, and with
    ``topology`` the workload's ``--datasets`` and ``--jobs``."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the result here, as JSON")
    if topology:
        parser.add_argument("--datasets", type=int, default=4000, help="datasets in the workload (default 4000)")
        parser.add_argument("--jobs", type=int, default=1500, help="jobs in the workload (default 1500)")
    return parser


def report(result: dict[str, Any], path: Path | None) -> None:
    if path:
        path.write_text(json.dumps(result, indent=2))


def progress(bootstrap: str, group: str, topics: list[str]) -> tuple[int, int]:
    """(offsets the group committed, end offsets) summed over the topics' partitions; (0, 0)
    while the group has no coordinator yet (a new group on a new Kafka)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        parts = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        done = sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
        end = sum(consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in parts)
        return done, end
    except KafkaException as exc:
        if exc.args[0].code() in TRANSIENT:
            return 0, 0
        raise
    finally:
        consumer.close()


def first_written(bootstrap: str, topic: str) -> float | None:
    """When the earliest record of ``topic`` was sent (epoch seconds, from the records' own
    timestamps): for the runs topic, when the processor routed its first batch, i.e. when it
    started working. None for an empty topic."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-first-{uuid.uuid4().hex[:8]}"})
    try:
        firsts = []
        for p in range(PARTITIONS):
            tp = TopicPartition(topic, p)
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, p, low)])
            msg = consumer.poll(10)
            if msg is not None and msg.error() is None:
                firsts.append(msg.timestamp()[1] / 1000)
        return min(firsts) if firsts else None
    finally:
        consumer.close()


def partition_progress(bootstrap: str, group: str, topics: list[str]) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (offset the group committed, or 0; end offset)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        parts = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        out = {}
        for tp in consumer.committed(parts, timeout=10):
            end = consumer.get_watermark_offsets(tp, timeout=10)[1]
            out[(tp.topic, tp.partition)] = (max(tp.offset, 0), end)
        return out
    finally:
        consumer.close()


def peak_rss_mib(pid: int, field: str = "VmHWM") -> float | None:
    """The process's peak resident memory so far (VmHWM; VmRSS: now), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def empty_graph(driver: neo4j.Driver, database: str | None = None) -> None:
    with driver.session(database=database) as session:  # an implicit transaction, for IN TRANSACTIONS
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def graph_size(driver: neo4j.Driver) -> tuple[int, int]:
    record = driver.execute_query(
        "CALL () { MATCH (n) RETURN count(n) AS nodes } CALL () { MATCH ()-[r]->() RETURN count(r) AS rels } "
        "RETURN nodes, rels"
    ).records[0]
    return record["nodes"], record["rels"]


# How Debian's Chromium runs headless on these machines (the explorer's bench and browser tests):
# without the last four its own background connections, refused by the closed network, slow it.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def percentiles(values: list[float]) -> dict[str, float]:
    """p50 and p99 (and the count) of a sample."""
    if len(values) < 2:
        only = values[0] if values else float("nan")
        return {"p50": only, "p99": only, "n": len(values)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p99": cuts[98], "n": len(values)}


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def export(driver: neo4j.Driver) -> dict[str, Any]:
    """The graph in a canonical form: every node and relationship with its properties, as sorted
    text (element ids and order do not count), for comparing two graphs."""

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
