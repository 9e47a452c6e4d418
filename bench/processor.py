"""Stream-processor throughput on real Kafka: one `lineage process` worker pinned to one core.

Publishes a realistic workload to fresh uuid-named topics first (runs of a few dozen jobs over a
few hundred datasets, each run a START with its inputs and a COMPLETE with outputs, schema and
SQL facets, a third of them with a parent run; 10% of the events sent twice), then starts one
worker and times it from its first committed offset until every event has been routed and merged
(the processor group's committed offsets reach the end of both topics). Prints events/s, and how
many graph mutations the change-only output sent per event.

Needs Kafka (the local stack, `lineage stack up`, or LINEAGE_KAFKA_BOOTSTRAP).
Run: .venv/bin/python bench/processor.py [RUNS]; with BENCH_PROFILE=FILE and py-spy installed,
20 s of the worker's stacks are also recorded to FILE (collapsed stacks).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from lineage.mutations import decode_change_set
from lineage_cli.main import component_settings
from producers.publisher import EventPublisher
from producers.topics import ensure_topics

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/spark"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PARTITIONS = 6


def workload(runs: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    base = datetime(2026, 11, 20, tzinfo=UTC)
    events = []
    for i in range(runs):
        run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        job = f"etl.job_{rng.randrange(40)}"
        inputs = [_dataset(rng.randrange(300)) for _ in range(rng.randint(1, 3))]
        outputs = [_dataset(300 + i % 80, schema=True)]
        run_facets: dict[str, Any] = {}
        if i % 3 == 0:
            run_facets["parent"] = {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json",
                "run": {"runId": str(uuid.UUID(int=i // 3 + 1, version=4))},
                "job": {"namespace": "airflow", "name": f"dag_{i % 7}.task"},
            }
        job_facets = {"sql": {"_producer": PRODUCER, "_schemaURL": "x", "query": f"INSERT INTO t SELECT * FROM s{i}"}}
        start = base + timedelta(seconds=30 * i)
        for event_type, when, ins, outs in (
            ("START", start, inputs, []),
            ("COMPLETE" if i % 13 else "FAIL", start + timedelta(seconds=20), inputs, outputs),
        ):
            events.append(
                {
                    "eventType": event_type,
                    "eventTime": when.isoformat(),
                    "run": {"runId": run_id, "facets": run_facets},
                    "job": {"namespace": "spark", "name": job, "facets": job_facets},
                    "inputs": ins,
                    "outputs": outs,
                    "producer": PRODUCER,
                    "schemaURL": SCHEMA_URL,
                }
            )
    events += rng.sample(events, len(events) // 10)
    rng.shuffle(events)
    return events


def _dataset(n: int, schema: bool = False) -> dict[str, Any]:
    ds: dict[str, Any] = {"namespace": "postgres://warehouse:5432", "name": f"analytics.public.table_{n}", "facets": {}}
    if schema:
        ds["facets"]["schema"] = {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
            "fields": [{"name": f"col_{c}", "type": "BIGINT"} for c in range(12)],
        }
    return ds


def committed_and_end(bootstrap: str, group: str, topics: list[str]) -> tuple[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        parts = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        done = sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
        end = sum(consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in parts)
        return done, end
    finally:
        consumer.close()


def graph_output(bootstrap: str, topic: str) -> tuple[int, int]:
    """(messages, mutations) on the graph topic."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-read-{uuid.uuid4().hex[:8]}"})
    try:
        parts = [TopicPartition(topic, p, 0) for p in range(PARTITIONS)]
        end = sum(consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in parts)
        consumer.assign(parts)
        messages = mutations = 0
        while messages < end:
            for msg in consumer.consume(1000, 5):
                if msg.error() is None:
                    messages += 1
                    mutations += len(decode_change_set(msg.value() or b"")[0])
        return messages, mutations
    finally:
        consumer.close()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    settings = component_settings()
    tag = uuid.uuid4().hex[:8]
    topics = {
        "events_topic": f"bench-{tag}.openlineage.events",
        "dlq_topic": f"bench-{tag}.openlineage.events.dlq",
        "runs_topic": f"bench-{tag}.lineage.runs",
        "graph_topic": f"bench-{tag}.lineage.graph",
    }
    group = f"bench-{tag}-processor"
    events = workload(runs)
    size = sum(len(json.dumps(e)) for e in events) / len(events)
    ensure_topics(settings.kafka_bootstrap, list(topics.values()), PARTITIONS)
    with EventPublisher(settings.kafka_bootstrap, topics["events_topic"]) as publisher:
        publisher.publish(events)
    print(f"{len(events):,} events ({runs:,} runs, 10% duplicates, {size:,.0f} bytes each) on {PARTITIONS} partitions")

    home = tempfile.mkdtemp(prefix="bench-processor-")
    env = dict(
        os.environ,
        LINEAGE_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        LINEAGE_PROCESSOR_GROUP=group,
        LINEAGE_TOPIC_PARTITIONS=str(PARTITIONS),
        LINEAGE_HOME=home,
        LINEAGE_LOG_LEVEL="WARNING",
        **{f"LINEAGE_{k.upper()}": v for k, v in topics.items()},
    )
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    worker = subprocess.Popen([*pin, sys.executable, "-m", "lineage_cli", "process"], env=env)
    profile = os.environ.get("BENCH_PROFILE")
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if profile and spy:  # 20 s of the worker's stacks, collapsed, into that file
        subprocess.Popen([spy, "record", "-o", profile, "-f", "raw", "-d", "20", "-p", str(worker.pid)])
    try:
        first = last_print = None
        while True:
            time.sleep(1)
            if worker.poll() is not None:
                sys.exit(f"the worker exited with code {worker.returncode}")
            done, end = committed_and_end(
                settings.kafka_bootstrap, group, [topics["events_topic"], topics["runs_topic"]]
            )
            now = time.monotonic()
            if done and first is None:
                first = (now, done)
            if first and (last_print is None or now - last_print >= 10):
                print(f"  {done:,}/{end:,} offsets committed (route + merge)", flush=True)
                last_print = now
            if end and done >= end and end >= 2 * len(events):
                break
        assert first is not None
        seconds = now - first[0]
        rate = (done - first[1]) / 2 / seconds  # each event is routed once and merged once
        messages, mutations = graph_output(settings.kafka_bootstrap, topics["graph_topic"])
        print(
            f"one worker, one core: {rate:,.0f} events/s (routed and merged) over {seconds:.1f} s; "
            f"{messages:,} change sets with {mutations:,} mutations sent ({mutations / len(events):.1f} per event)"
        )
    finally:
        worker.terminate()
        worker.wait(60)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
