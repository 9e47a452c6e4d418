"""Query latency on a large synthetic graph: downstream impact at depth 5 and 10, upstream, root cause.

Builds (in an emptied Neo4j) a layered lineage graph of DATASETS datasets and JOBS jobs in 20
layers: each job reads 1-3 nearby datasets of the layer before (sometimes two before) and writes
1-2 nearby datasets of its own layer (fan-in and fan-out in local cones, as pipelines grow), with
one run per job (a tenth of them failed), then times the library's queries from random starts
and prints p50/p99 and the median answer size. Deterministic from the seed.

Needs Neo4j (the local stack, `lineage stack up`, or LINEAGE_NEO4J_URI). It empties the graph.
Run: .venv/bin/python bench/query_latency.py [DATASETS] [JOBS] [QUERIES]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import neo4j

from lineage_cli.main import component_settings
from queries.lineage_queries import downstream, root_cause, upstream
from sinks.neo4j_writer import Neo4jGraphWriter

LAYERS = 20
BATCH = 5000


def build(driver: neo4j.Driver, datasets: int, jobs: int, rng: random.Random) -> list[str]:
    per_layer = datasets // LAYERS
    names = [f"layer{d // per_layer:02d}.table_{d}" for d in range(datasets)]

    def near(layer: int, position: int, spread: int) -> str:
        column = (position + rng.randint(-spread, spread)) % per_layer
        return names[min(datasets - 1, layer * per_layer + column)]

    rows: list[dict[str, Any]] = []
    for j in range(jobs):
        # A job sits at a layer and a position, reads nearby tables of the layer before (sometimes
        # two before) and writes nearby tables of its own layer: lineage flows in local cones.
        layer, position = rng.randrange(1, LAYERS), rng.randrange(per_layer)
        reads = [near(max(0, layer - rng.choice((1, 1, 1, 2))), position, 8) for _ in range(rng.randint(1, 3))]
        writes = [near(layer, position, 2) for _ in range(rng.randint(1, 2))]
        state = "FAILED" if rng.random() < 0.1 else "COMPLETED"
        rows.append({"job": f"job_{j}", "run": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                     "reads": reads, "writes": writes, "state": state})  # fmt: skip
    with driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    Neo4jGraphWriter(driver).ensure_schema()
    for i in range(0, datasets, BATCH):
        driver.execute_query(
            "UNWIND $names AS n MERGE (:Dataset {namespace: 'warehouse', name: n})", names=names[i : i + BATCH]
        )
    for i in range(0, len(rows), BATCH // 5):
        driver.execute_query(
            "UNWIND $rows AS row "
            "MERGE (j:Job {namespace: 'etl', name: row.job}) "
            "MERGE (r:Run {runId: row.run}) SET r.state = row.state, r.startedAt = datetime() - duration('PT1H'), "
            "r.endedAt = datetime() - duration('PT30M') "
            "MERGE (r)-[:INSTANCE_OF]->(j) "
            "WITH j, r, row UNWIND row.reads AS input "
            "MATCH (d:Dataset {namespace: 'warehouse', name: input}) "
            "MERGE (j)-[c:CONSUMES]->(d) SET c.lastSeen = datetime(), c.firstSeen = datetime(), c.runCount = 1 "
            "MERGE (r)-[:READ]->(d) "
            "WITH DISTINCT j, r, row UNWIND row.writes AS output "
            "MATCH (d:Dataset {namespace: 'warehouse', name: output}) "
            "MERGE (j)-[p:PRODUCES]->(d) SET p.lastSeen = datetime(), p.firstSeen = datetime(), p.runCount = 1 "
            "MERGE (r)-[:WROTE]->(d)",
            rows=rows[i : i + BATCH // 5],
        )
    return names


def timed(label: str, calls: list[Callable[[], Any]]) -> None:
    for call in calls[:3]:
        call()  # warm-up: plans cached
    times, sizes = [], []
    for call in calls:
        start = time.perf_counter()
        answer = call()
        times.append((time.perf_counter() - start) * 1000)
        sizes.append(len(answer.datasets) + len(answer.jobs) if hasattr(answer, "datasets") else len(answer))
    cuts = statistics.quantiles(times, n=100)
    print(
        f"  {label:<24} p50 {cuts[49]:6.1f} ms   p99 {cuts[98]:6.1f} ms   ({len(times)} queries; "
        f"answers of {statistics.median(sizes):.0f} datasets+jobs (median), {max(sizes)} at most)"
    )


def main() -> None:
    datasets = int(sys.argv[1]) if len(sys.argv) > 1 else 60_000
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 40_000
    queries = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    settings = component_settings()
    rng = random.Random(42)
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, **settings.neo4j_driver_options) as driver:
        start = time.perf_counter()
        names = build(driver, datasets, jobs, rng)
        counts = driver.execute_query(
            "CALL () { MATCH (n) RETURN count(n) AS nodes } CALL () { MATCH ()-[r]->() RETURN count(r) AS rels } "
            "RETURN nodes, rels"
        ).records[0]
        print(
            f"graph: {datasets:,} datasets, {jobs:,} jobs, {counts['nodes']:,} nodes and {counts['rels']:,} "
            f"relationships, built in {time.perf_counter() - start:.0f} s"
        )
        early = names[: datasets // LAYERS * 2]  # the first layers: the deepest downstream
        late = names[-datasets // LAYERS * 2 :]
        runs = [r["id"] for r in driver.execute_query("MATCH (r:Run {state: 'FAILED'}) RETURN r.runId AS id").records]
        sample = lambda pool: [rng.choice(pool) for _ in range(queries)]  # noqa: E731
        for depth in (5, 10):
            timed(
                f"downstream, depth {depth}",
                [lambda n=n, d=depth: downstream(driver, "warehouse", n, d) for n in sample(early)],
            )
        timed("upstream, depth 10", [lambda n=n: upstream(driver, "warehouse", n, depth=10) for n in sample(late)])
        timed("root cause, depth 5", [lambda r=r: root_cause(driver, r, 5) for r in sample(runs)])


if __name__ == "__main__":
    main()
