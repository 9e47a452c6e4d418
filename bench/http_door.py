"""The HTTP door end to end: the workload posted to `lineage ingest` by concurrent clients, one
event per request (what the OpenLineage clients' default HTTP transport does), until every event
is queryable in Neo4j.

One `lineage ingest`, one `lineage process` and one `lineage sink` start on fresh topics and an
emptied graph. Then CLIENTS (16) clients post the workload (bench/workload.py), each taking the
next event when its last one was answered. Reported:
- acknowledgements/s: events over the time from the first POST to the last 201 (a 201 means Kafka
  has the event, acks=all);
- events/s to queryable: events over the time from the first POST until the processor and the
  sink have committed everything (polled every 0.5 s, so up to 0.5 s too long);
- the answers' latency (p50, p99) and any answer other than 201.

The clients (aiohttp, in this process) share the machine with the pipeline, Kafka and Neo4j.
Needs Kafka and Neo4j (the local stack, `lineage stack up`, or LINEAGE_KAFKA_BOOTSTRAP and
LINEAGE_NEO4J_URI). It empties the graph.
Run: .venv/bin/python -m bench.http_door EVENTS [--clients N] [--json FILE]
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import neo4j

from bench.common import Pipeline, arguments, empty_graph, percentiles, progress, report, stop
from bench.workload import Topology, events
from lineage_cli.environment import component_settings
from lineage_stack.processes import free_port, wait_until

CLIENTS = 16
POLL = 0.5


async def post_all(url: str, bodies: list[bytes], clients: int) -> tuple[float, list[float], Counter[int]]:
    """Post every body, ``clients`` at a time; (seconds to the last answer, latencies, statuses)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    pending = iter(bodies)
    headers = {"Content-Type": "application/json"}

    async def client(session: aiohttp.ClientSession) -> None:
        for body in pending:  # shared: each client takes the next event
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] += 1
            latencies.append(time.perf_counter() - start)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        start = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        return time.perf_counter() - start, latencies, statuses


def run(count: int, datasets: int = 4000, jobs: int = 1500, seed: int = 1, clients: int = CLIENTS) -> dict[str, Any]:
    base = component_settings()
    home = Path(tempfile.mkdtemp(prefix="bench-http-"))
    pipeline = Pipeline.fresh(base, home)
    s = pipeline.settings
    bodies = [json.dumps(e).encode() for e in events(Topology(datasets, jobs, seed), count, seed)]
    port = free_port()
    pipeline.env["LINEAGE_INGEST_PORT"] = str(port)
    url = f"http://127.0.0.1:{port}"
    with neo4j.GraphDatabase.driver(s.neo4j_uri, **s.neo4j_driver_options) as driver:
        empty_graph(driver, s.neo4j_database)
    processes = {name: pipeline.start(name, home / f"{name}.log") for name in ("ingest", "process", "sink")}
    try:
        if not wait_until(lambda: _healthy(url), 60):
            raise SystemExit(f"lineage ingest did not become healthy; see {home}")
        print(f"{count:,} events posted by {clients} clients, one per request, to {url}", flush=True)
        start = time.monotonic()
        seconds, latencies, statuses = asyncio.run(post_all(f"{url}/api/v1/lineage", bodies, clients))
        print(f"  all answered in {seconds:.1f} s: {count / seconds:,.0f} acknowledgements/s", flush=True)
        deadline = time.monotonic() + 1800
        while True:
            for name, proc in processes.items():
                if proc.poll() is not None:
                    raise SystemExit(f"lineage {name} exited with code {proc.returncode}; see {home}")
            routed, route_end = progress(s.kafka_bootstrap, s.processor_group, [s.events_topic])
            merged, merge_end = progress(s.kafka_bootstrap, s.processor_group, [s.runs_topic])
            written, graph_end = progress(s.kafka_bootstrap, s.sink_group, [s.graph_topic])
            accepted = statuses[201]
            drained = routed >= route_end and merged >= merge_end and graph_end and written >= graph_end
            if route_end >= accepted and drained:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"not queryable after 1800 s; see the logs in {home}")
            time.sleep(POLL)
        queryable = time.monotonic() - start
    finally:
        for proc in processes.values():
            stop(proc)
    latency = {k: round(v * 1000, 1) for k, v in percentiles(latencies).items() if k != "n"}
    result: dict[str, Any] = {
        "events": count,
        "clients": clients,
        "seconds_to_acknowledged": round(seconds, 1),
        "acknowledged_per_s": round(count / seconds, 1),
        "seconds_to_queryable": round(queryable, 1),
        "queryable_per_s": round(count / queryable, 1),
        "latency_ms": latency,
        "answers": {str(k): v for k, v in sorted(statuses.items())},
    }
    print(
        f"HTTP door: {count:,} events, {clients} clients: {result['acknowledged_per_s']:,.0f} acknowledgements/s "
        f"(p50 {latency['p50']} ms, p99 {latency['p99']} ms), "
        f"{result['queryable_per_s']:,.0f} events/s to queryable ({queryable:.1f} s); answers {dict(statuses)}"
    )
    return result


def _healthy(base: str) -> bool:
    async def ask() -> bool:
        try:
            async with aiohttp.ClientSession() as session, session.get(f"{base}/api/v1/health") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    return asyncio.run(ask())


def main() -> None:
    parser = arguments(__doc__, topology=True)
    parser.add_argument("events", type=int)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    report(run(args.events, args.datasets, args.jobs, args.seed, args.clients), args.json)


if __name__ == "__main__":
    main()
