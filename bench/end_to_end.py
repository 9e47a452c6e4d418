"""End-to-end throughput: events/s from the raw topic to committed in Neo4j, one processor worker
and one sink on this machine (Kafka and Neo4j running here too).

The workload (bench/workload.py) is published to fresh topics first; then one `lineage process`
and one `lineage sink` start on an emptied graph, and the clock runs from the processor's first
routed batch (the earliest record on the runs topic) until the processor has committed every
event (route and merge) and the sink every change set the processor sent. Every 10 s it records
progress, the processor's RocksDB size (state growth with runs) and both processes' peak RSS.

Needs Kafka and Neo4j (the local stack, `lineage stack up`, or LINEAGE_KAFKA_BOOTSTRAP and
LINEAGE_NEO4J_URI). It empties the graph.
Run: .venv/bin/python -m bench.end_to_end EVENTS [--json FILE]
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import neo4j

from bench.common import (
    Pipeline,
    arguments,
    dir_bytes,
    empty_graph,
    first_written,
    graph_size,
    peak_rss_mib,
    progress,
    report,
    stop,
)
from bench.workload import Topology, events
from lineage_cli.environment import component_settings
from producers.publisher import EventPublisher

POLL = 2.0


def run(count: int, datasets: int, jobs: int, seed: int = 1, timeout: float = 3600) -> dict[str, Any]:
    base = component_settings()
    home = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    pipeline = Pipeline.fresh(base, home)
    s = pipeline.settings
    workload = list(events(Topology(datasets, jobs, seed), count, seed))
    runs = len({e["run"]["runId"] for e in workload})
    size = sum(len(json.dumps(e)) for e in workload) / len(workload)
    start = time.perf_counter()
    with EventPublisher(s.kafka_bootstrap, s.events_topic) as publisher:
        publisher.publish(workload)
    publish_rate = len(workload) / (time.perf_counter() - start)
    print(f"{len(workload):,} events ({runs:,} runs, {size:,.0f} bytes each) published at {publish_rate:,.0f}/s")
    del workload

    with neo4j.GraphDatabase.driver(s.neo4j_uri, **s.neo4j_driver_options) as driver:
        empty_graph(driver, s.neo4j_database)
        processor = pipeline.start("process", home / "process.log")
        sink = pipeline.start("sink", home / "sink.log")
        timeline: list[dict[str, Any]] = []
        rss = {"processor": 0.0, "sink": 0.0}
        first = None
        try:
            deadline = time.monotonic() + timeout
            while True:
                time.sleep(POLL)
                for name, proc in (("processor", processor), ("sink", sink)):
                    if proc.poll() is not None:
                        raise SystemExit(f"the {name} exited with code {proc.returncode}; see {home}")
                    rss[name] = max(rss[name], peak_rss_mib(proc.pid) or 0.0)
                routed, route_end = progress(s.kafka_bootstrap, s.processor_group, [s.events_topic])
                merged, merge_end = progress(s.kafka_bootstrap, s.processor_group, [s.runs_topic])
                written, graph_end = progress(s.kafka_bootstrap, s.sink_group, [s.graph_topic])
                now = time.monotonic()
                # Events are counted where they are routed (the runs topic's messages each hold a
                # routed batch); the run is over when the runs and graph topics are drained too.
                events_done = routed
                if routed and first is None:
                    first = now
                if first is not None and (not timeline or now - timeline[-1]["t"] - first >= 10):
                    point = {
                        "t": now - first,
                        "events_routed": events_done,
                        "batches_merged": merged,
                        "change_sets_written": written,
                        "change_sets_sent": graph_end,
                        "state_bytes": dir_bytes(home / "processor"),
                    }
                    timeline.append(point)
                    print(
                        f"  {point['t']:5.0f} s  {events_done:,}/{count:,} events routed, "
                        f"{merged:,}/{merge_end:,} routed batches merged, "
                        f"{written:,}/{graph_end:,} change sets in Neo4j, state {point['state_bytes'] / 1e6:,.1f} MB",
                        flush=True,
                    )
                done = route_end >= count and routed >= route_end and merged >= merge_end
                if done and graph_end and written >= graph_end:
                    ended = time.time()
                    break
                if now > deadline:
                    raise SystemExit(f"not done after {timeout:.0f} s; see the logs in {home}")
            # From the processor's first routed batch (its start-up is not counted) to the sink's
            # last commit: every event, routed, merged and written, is in that time.
            began = first_written(s.kafka_bootstrap, s.runs_topic)
            seconds = ended - (began or ended)
            state = dir_bytes(home / "processor")
            nodes, rels = graph_size(driver)
        finally:
            stop(processor)
            stop(sink)
    result = {
        "events": count,
        "runs": runs,
        "event_bytes": round(size),
        "seconds": round(seconds, 1),
        "events_per_s": round(count / seconds, 1),
        "change_sets": graph_end,
        "graph_nodes": nodes,
        "graph_relationships": rels,
        "graph_items_per_s": round((nodes + rels) / seconds, 1),
        "peak_rss_mib": {k: round(v, 1) for k, v in rss.items()},
        "state_bytes": state,
        "state_bytes_per_run": round(state / runs),
        "timeline": timeline,
    }
    print(
        f"end to end: {count:,} events in {seconds:.1f} s = {result['events_per_s']:,.0f} events/s; graph "
        f"{nodes:,} nodes + {rels:,} relationships; peak RSS processor {rss['processor']:.0f} MiB, sink "
        f"{rss['sink']:.0f} MiB; state {state / 1e6:.1f} MB ({result['state_bytes_per_run']:,} bytes/run)"
    )
    return result


def main() -> None:
    parser = arguments(__doc__, topology=True)
    parser.add_argument("events", type=int)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    report(run(args.events, args.datasets, args.jobs, args.seed), args.json)


if __name__ == "__main__":
    main()
