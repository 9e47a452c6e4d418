"""Query latency on a large synthetic graph: downstream impact at depth 5 and 10, upstream, root cause.

Builds (in an emptied Neo4j) a layered lineage graph of about NODES nodes (40% datasets, 30% jobs,
30% runs) in 20 layers: each job reads 1-3 nearby datasets of the layer before (sometimes two before) and writes
1-2 nearby datasets of its own layer (fan-in and fan-out in local cones, as pipelines grow), with
one run per job (a tenth of them failed), then times the library's queries from random starts
and prints p50/p99 and the median answer size: downstream of a dataset at depth 5 and 10,
upstream of a run at depth 10, root cause of a failed run at depth 5. Deterministic from the seed.

Needs Neo4j (the local stack, `lineage stack up`, or LINEAGE_NEO4J_URI). It empties the graph.
Run: .venv/bin/python -m bench.query_latency [NODES] [--queries N] [--json FILE]
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import neo4j

from bench.common import arguments, empty_graph, graph_size, percentiles, report
from lineage_cli.environment import component_settings
from queries.lineage_queries import downstream, upstream
from queries.root_cause import root_cause
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
    empty_graph(driver)
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


def _size(answer: Any) -> int:
    return len(answer.datasets) + len(answer.jobs) if hasattr(answer, "datasets") else len(answer)


def timed(
    label: str, calls: list[Callable[[], Any]], size: Callable[[Any], int] = _size, unit: str = "datasets+jobs"
) -> dict[str, float]:
    """p50/p99 of the calls (after three to warm up) and the median size of their answers."""
    for call in calls[:3]:
        call()  # warm-up: plans cached
    times, sizes = [], []
    for call in calls:
        start = time.perf_counter()
        answer = call()
        times.append((time.perf_counter() - start) * 1000)
        sizes.append(size(answer))
    stats = percentiles(times)
    print(
        f"  {label:<30} p50 {stats['p50']:6.1f} ms   p99 {stats['p99']:6.1f} ms   ({len(times)} queries; "
        f"answers of {statistics.median(sizes):.0f} {unit} (median), {max(sizes)} at most)"
    )
    return {"p50_ms": round(stats["p50"], 2), "p99_ms": round(stats["p99"], 2), "queries": len(times),
            "median_answer": statistics.median(sizes)}  # fmt: skip


def run(nodes: int, queries: int = 100, seed: int = 42) -> dict[str, Any]:
    """Build a graph of about ``nodes`` nodes (40% datasets, 30% jobs, 30% runs) and time the queries."""
    datasets, jobs = int(nodes * 0.4), int(nodes * 0.3)
    settings = component_settings()
    rng = random.Random(seed)
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, **settings.neo4j_driver_options) as driver:
        start = time.perf_counter()
        names = build(driver, datasets, jobs, rng)
        built = time.perf_counter() - start
        node_count, rel_count = graph_size(driver)
        print(
            f"graph: {datasets:,} datasets, {jobs:,} jobs, {node_count:,} nodes and {rel_count:,} "
            f"relationships, built in {built:.0f} s"
        )
        early = names[: datasets // LAYERS * 2]  # the first layers: the deepest downstream
        runs = [r["id"] for r in driver.execute_query("MATCH (r:Run) RETURN r.runId AS id").records]
        late_runs = [r["id"] for r in driver.execute_query(
            "MATCH (r:Run)-[:WROTE]->(d:Dataset) WHERE d.name STARTS WITH 'layer18' "
            "OR d.name STARTS WITH 'layer19' RETURN DISTINCT r.runId AS id"
        ).records]  # fmt: skip
        failed = [r["id"] for r in driver.execute_query("MATCH (r:Run {state: 'FAILED'}) RETURN r.runId AS id").records]
        sample = lambda pool: [rng.choice(pool) for _ in range(queries)]  # noqa: E731
        results: dict[str, Any] = {"nodes": node_count, "relationships": rel_count, "build_s": round(built, 1)}
        for depth in (5, 10):
            results[f"downstream_d{depth}"] = timed(
                f"downstream, depth {depth}",
                [partial(downstream, driver, "warehouse", n, depth) for n in sample(early)],
            )
        results["upstream_run_d10"] = timed(
            "upstream of a run, d10",
            [partial(upstream, driver, run_id=r, depth=10) for r in sample(late_runs or runs)],
        )
        results["root_cause_d5"] = timed(
            "root cause, depth 5", [partial(root_cause, driver, r, 5) for r in sample(failed)]
        )
    return results


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("nodes", type=int, nargs="?", default=100_000, help="graph size, in nodes (default 100,000)")
    parser.add_argument("--queries", type=int, default=100, help="queries of each kind (default 100)")
    args = parser.parse_args()
    report(run(args.nodes, args.queries), args.json)


if __name__ == "__main__":
    main()
