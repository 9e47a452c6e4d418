"""Neo4j sink write rate: the change sets of a realistic workload, written in sink-sized batches.

The change sets are what the processor emits for bench/processor.py's workload (computed here
by the pure core, so Kafka is not involved); they are written with the sink's writer, one
transaction per batch of LINEAGE_SINK_BATCH_SIZE messages, into an emptied graph. Prints
mutations/s and the nodes and relationships created per second.

Needs Neo4j (the local stack, `lineage stack up`, or LINEAGE_NEO4J_URI). It empties the graph.
Run: .venv/bin/python bench/sink.py [RUNS]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import neo4j

sys.path.insert(0, str(Path(__file__).resolve().parent))

from processor import workload

from lineage.processing import (
    Routed,
    StoredRun,
    apply,
    route,
)
from lineage_cli.main import component_settings
from sinks.neo4j_writer import Neo4jGraphWriter


def change_sets(runs: int) -> list[list]:
    table: dict[bytes, StoredRun] = {}
    out = []
    for offset, event in enumerate(workload(runs)):
        raw = json.dumps(event).encode()
        routed = route(raw)
        assert isinstance(routed, Routed)
        applied = apply(table.get(routed.key), raw, offset)
        if applied.stored is not None:
            table[routed.key] = applied.stored
        if applied.mutations:
            out.append(applied.mutations)
    return out


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    settings = component_settings()
    sets = change_sets(runs)
    mutations = sum(len(s) for s in sets)
    batch = settings.sink_batch_size
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, **settings.neo4j_driver_options) as driver:
        with driver.session(database=settings.neo4j_database) as session:  # an implicit transaction
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
        writer = Neo4jGraphWriter(driver, settings.neo4j_database)
        writer.ensure_schema()
        start = time.perf_counter()
        for i in range(0, len(sets), batch):
            writer.write([m for s in sets[i : i + batch] for m in s])
        seconds = time.perf_counter() - start
        counts = driver.execute_query(
            "CALL () { MATCH (n) RETURN count(n) AS nodes } CALL () { MATCH ()-[r]->() RETURN count(r) AS rels } "
            "RETURN nodes, rels"
        ).records[0]
    print(
        f"{len(sets):,} change sets ({mutations:,} mutations, {runs:,} runs) in batches of {batch} messages: "
        f"{seconds:.1f} s, {mutations / seconds:,.0f} mutations/s; graph now {counts['nodes']:,} nodes and "
        f"{counts['rels']:,} relationships ({(counts['nodes'] + counts['rels']) / seconds:,.0f} created/s)"
    )


if __name__ == "__main__":
    main()
