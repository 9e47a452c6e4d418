"""Neo4j sink write rate: the change sets of the workload, written in sink-sized batches.

The change sets are what the processor emits for bench/workload.py's events (computed here by
the pure core, so Kafka is not involved), encoded as on the graph topic; the timed part is what
the sink does with them: read each (``read_change_set``) and write them with the sink's writer,
one transaction per batch of LINEAGE_SINK_BATCH_SIZE messages, into an emptied graph. Prints
mutations/s and the nodes and relationships created per second.

Needs Neo4j (the local stack, `lineage stack up`, or LINEAGE_NEO4J_URI). It empties the graph.
Run: .venv/bin/python -m bench.sink [EVENTS] [--json FILE]
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import neo4j

from bench.common import arguments, empty_graph, graph_size, report
from bench.workload import Topology, events
from lineage.mutations import AnyMutation, encode_change_set, read_change_set
from lineage.processing import Routed, StoredRun, apply, route
from lineage_cli.environment import component_settings
from sinks.neo4j_writer import Neo4jGraphWriter


def change_sets(count: int, datasets: int, jobs: int, seed: int = 1) -> list[list[AnyMutation]]:
    return change_sets_of(json.dumps(e).encode() for e in events(Topology(datasets, jobs, seed), count, seed))


def change_sets_of(raws: Iterable[bytes]) -> list[list[AnyMutation]]:
    """What the processor sends for these events, in order: route, then merge into run states."""
    table: dict[bytes, StoredRun] = {}
    out = []
    for offset, raw in enumerate(raws):
        routed = route(raw)
        assert isinstance(routed, Routed)
        applied = apply(table.get(routed.key), raw, offset)
        if applied.stored is not None:
            table[routed.key] = applied.stored
        if applied.mutations:
            out.append(applied.mutations)
    return out


def run(count: int, datasets: int = 4000, jobs: int = 1500) -> dict[str, Any]:
    settings = component_settings()
    sets = change_sets(count, datasets, jobs)
    mutations = sum(len(s) for s in sets)
    batch = settings.sink_batch_size
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, **settings.neo4j_driver_options) as driver:
        empty_graph(driver, settings.neo4j_database)
        writer = Neo4jGraphWriter(driver, settings.neo4j_database)
        writer.ensure_schema()
        encoded = [encode_change_set(s) for s in sets]
        start = time.perf_counter()
        for i in range(0, len(encoded), batch):
            writer.write([m for raw in encoded[i : i + batch] for m in read_change_set(raw)[0]])
        seconds = time.perf_counter() - start
        nodes, rels = graph_size(driver)
    print(
        f"{len(sets):,} change sets ({mutations:,} mutations, {count:,} events) in batches of {batch} messages: "
        f"{seconds:.1f} s, {mutations / seconds:,.0f} mutations/s; graph now {nodes:,} nodes and "
        f"{rels:,} relationships ({(nodes + rels) / seconds:,.0f} created/s)"
    )
    return {
        "events": count,
        "change_sets": len(sets),
        "mutations": mutations,
        "batch_messages": batch,
        "seconds": round(seconds, 1),
        "mutations_per_s": round(mutations / seconds, 1),
        "events_per_s": round(count / seconds, 1),
        "graph_items_per_s": round((nodes + rels) / seconds, 1),
    }


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("events", type=int, nargs="?", default=20_000)
    args = parser.parse_args()
    report(run(args.events), args.json)


if __name__ == "__main__":
    main()
