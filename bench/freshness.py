"""Freshness: at a steady offered load, the delay from an event's produce time until its effect
is visible in Neo4j.

One `lineage process` and one `lineage sink` run on fresh topics and an emptied graph; the
workload (bench/workload.py) is produced at RATE events/s for SECONDS. Each run's last event
(COMPLETE or FAIL) is a probe: its produce time is noted, and a poller asks Neo4j every 0.2 s
which probed runs now show that state. The delay is poll time minus produce time (so up to one
poll interval, plus the poll itself, too long). Prints p50/p99, and how many probes were still
not visible when the poller gave up (a backlog: the offered load is more than the pipeline takes).
The poller's queries run on the same Neo4j and cores: with tens of thousands of probes pending
(a backlog) they add to the load they measure.

Needs Kafka and Neo4j, like bench/end_to_end.py. It empties the graph.
Run: .venv/bin/python -m bench.freshness RATE [SECONDS] [--json FILE]
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import neo4j

from bench.common import Pipeline, arguments, empty_graph, percentiles, report, stop
from bench.workload import Topology, events
from lineage_cli.environment import component_settings
from producers.publisher import EventPublisher

POLL = 0.2
TERMINAL = {"COMPLETE": "COMPLETED", "FAIL": "FAILED"}


class Poller(threading.Thread):
    """Asks Neo4j which probed runs show their terminal state, every POLL seconds."""

    def __init__(self, driver: neo4j.Driver) -> None:
        super().__init__(daemon=True)
        self.driver = driver
        self.pending: dict[str, tuple[float, str]] = {}  # runId -> (produced at, state)
        self.delays: list[float] = []
        self.errors = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def probe(self, run_id: str, state: str) -> None:
        with self.lock:
            self.pending[run_id] = (time.time(), state)

    def run(self) -> None:
        while not self.stopping.wait(POLL):
            with self.lock:
                rows = [{"id": k, "state": v[1]} for k, v in self.pending.items()]
            if not rows:
                continue
            try:
                found = self.driver.execute_query(
                    "UNWIND $rows AS row MATCH (r:Run {runId: row.id}) WHERE r.state = row.state RETURN r.runId AS id",
                    rows=rows,
                    routing_=neo4j.RoutingControl.READ,
                ).records
            except neo4j.exceptions.Neo4jError as exc:
                self.errors += 1
                print(f"  poll failed (probes stay pending): {exc}", flush=True)
                continue
            now = time.time()
            with self.lock:
                for record in found:
                    produced, _ = self.pending.pop(record["id"])
                    self.delays.append(now - produced)


def run(rate: float, seconds: float, datasets: int, jobs: int, seed: int = 1, drain: float = 60) -> dict[str, Any]:
    base = component_settings()
    home = Path(tempfile.mkdtemp(prefix="bench-fresh-"))
    pipeline = Pipeline.fresh(base, home)
    s = pipeline.settings
    workload = list(events(Topology(datasets, jobs, seed), int(rate * seconds) + 200, seed))
    last_event = {e["run"]["runId"]: i for i, e in enumerate(workload)}
    with neo4j.GraphDatabase.driver(s.neo4j_uri, **s.neo4j_driver_options) as driver:
        empty_graph(driver, s.neo4j_database)
        processor = pipeline.start("process", home / "process.log")
        sink = pipeline.start("sink", home / "sink.log")
        poller = Poller(driver)
        try:
            with EventPublisher(s.kafka_bootstrap, s.events_topic) as publisher:
                # Warm-up: the first 200 events, until the last of them shows in Neo4j.
                publisher.publish(workload[:200])
                publisher.flush()
                warm = workload[199]
                _wait_visible(driver, warm["run"]["runId"], processor, sink, home)
                poller.start()
                start = time.monotonic()
                for i, event in enumerate(workload[200:], start=200):
                    delay = start + (i - 200) / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    publisher.publish([event])
                    state = TERMINAL.get(event["eventType"])
                    if state and last_event[event["run"]["runId"]] == i:
                        poller.probe(event["run"]["runId"], state)
                offered = (len(workload) - 200) / (time.monotonic() - start)
            deadline = time.monotonic() + drain
            while poller.pending and time.monotonic() < deadline:
                time.sleep(POLL)
        finally:
            poller.stopping.set()
            stop(processor)
            stop(sink)
    with poller.lock:
        delays, unseen = list(poller.delays), len(poller.pending)
    stats = percentiles(delays)
    result = {
        "rate": rate,
        "offered_events_per_s": round(offered, 1),
        "seconds": seconds,
        "probes": len(delays) + unseen,
        "not_visible_after_drain": unseen,
        "p50_s": round(stats["p50"], 3),
        "p99_s": round(stats["p99"], 3),
        "max_s": round(max(delays), 3) if delays else None,
        "poll_errors": poller.errors,
    }
    print(
        f"freshness at {offered:,.0f} events/s for {seconds:.0f} s: p50 {stats['p50']:.2f} s, p99 {stats['p99']:.2f} s "
        f"over {len(delays):,} probes" + (f"; {unseen:,} not visible {drain:.0f} s after the load" if unseen else "")
    )
    return result


def _wait_visible(driver: neo4j.Driver, run_id: str, *procs_and_home: Any) -> None:
    *procs, home = procs_and_home
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise SystemExit(f"a pipeline process exited with code {proc.returncode}; see the logs in {home}")
        if driver.execute_query("MATCH (r:Run {runId: $id}) RETURN r", id=run_id).records:
            return
        time.sleep(0.5)
    raise SystemExit(f"the warm-up events did not reach Neo4j in 180 s; see the logs in {home}")


def main() -> None:
    parser = arguments(__doc__, topology=True)
    parser.add_argument("rate", type=float, help="events per second offered")
    parser.add_argument("seconds", type=float, nargs="?", default=60)
    args = parser.parse_args()
    report(run(args.rate, args.seconds, args.datasets, args.jobs), args.json)


if __name__ == "__main__":
    main()
