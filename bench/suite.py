"""The benchmark suite: every figure of bench/README.md from one run, as JSON and a Markdown table.

Profiles:
- quick (about 15 minutes here): stages on 20,000 events, end to end on 45,000 events and the
  peer (Data.Rentgen, bench.peer) on the same 45,000, the HTTP door on 20,000, freshness at 1,000
  and 2,000 events/s for 40 s each, queries on graphs of 10^4 and 10^5 nodes;
- long: stages on 100,000 events, end to end and the peer on 300,000, the HTTP door on 100,000,
  freshness for 120 s each, queries on 10^4, 10^5 and 10^6 nodes.

Needs Kafka and Neo4j (bench/run starts a stack of its own). Every step empties the graph.
Run: .venv/bin/python -m bench.suite [quick|long] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench.end_to_end
import bench.freshness
import bench.http_door
import bench.peer
import bench.processor
import bench.query_latency
import bench.sink
from bench.workload import Topology, events
from lineage.processing import Routed, StateCache, apply_all, route
from lineage_cli.environment import component_settings
from lineage_stack import kafka_server, neo4j_server
from lineage_stack.errors import StackError
from lineage_stack.tools import find_java
from stream_processor.app import MERGE_BATCH, STATE_CACHE_RUNS

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "stage_events": 20_000,
        "e2e_events": 45_000,
        "http_events": 20_000,
        "fresh_seconds": 40,
        "graphs": [10_000, 100_000],
    },
    "long": {
        "stage_events": 100_000,
        "e2e_events": 300_000,
        "http_events": 100_000,
        "fresh_seconds": 120,
        "graphs": [10_000, 100_000, 1_000_000],
    },
}
TOPOLOGY = {"datasets": 4000, "jobs": 1500}
MARQUEZ = "io.github.marquezproject:marquez-api:0.50.0"
# The peer's key in the JSON result (``peer.data_rentgen``; ``peer.ratio`` is ours over its).
PEER_KEY = "data_rentgen"


def core_rate(count: int) -> dict[str, Any]:
    """Route, then merge and map in batches as the worker does, encoded for the graph topic, in
    one process (the pure core, no Kafka): the processor's ceiling per core."""
    raws = [json.dumps(e).encode() for e in events(Topology(**TOPOLOGY), count)]
    start = time.perf_counter()
    change_sets = core_pass(raws)
    seconds = time.perf_counter() - start
    rate = count / seconds
    print(f"pure core (route, merge, map, encode; one process): {rate:,.0f} events/s, {change_sets:,} change sets")
    return {"events": count, "seconds": round(seconds, 1), "events_per_s": round(rate, 1)}


def core_pass(raws: list[bytes], batch: int = MERGE_BATCH) -> int:
    """What the worker's route and merge agents compute for these events; the change sets made."""
    table: dict[bytes, bytes] = {}
    states = StateCache(STATE_CACHE_RUNS)
    change_sets = 0
    for at in range(0, len(raws), batch):
        groups: dict[bytes, list[tuple[bytes, int]]] = {}
        for offset, raw in enumerate(raws[at : at + batch], at):
            routed = route(raw)
            assert isinstance(routed, Routed)
            groups.setdefault(routed.key, []).append((raw, offset))
        for key, group in groups.items():
            folded = apply_all(states.load(key, table.get(key)), group)
            if folded.stored is not None:
                table[key] = folded.stored
                states.keep(key, folded.stored, folded.state)
            change_sets += bool(folded.changes)
    return change_sets


def peer_rate(count: int) -> dict[str, Any]:
    """Data.Rentgen on the same workload (bench.peer); where it cannot run here, why."""
    try:
        return {"status": "measured", **bench.peer.run(count, **TOPOLOGY)}
    except bench.peer.PeerUnavailable as exc:
        print(f"{bench.peer.PEER}: not measured: {exc}")
        return {"status": "not-available", "reason": str(exc)}


def marquez_anchor() -> dict[str, Any]:
    """Fetch Marquez from Maven Central; where it is not served, say so (exactly) instead of a figure."""
    done = subprocess.run(
        ["mvn", "-B", "-q", "-U", "dependency:get", f"-Dartifact={MARQUEZ}", "-Dtransitive=false"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        found = re.search(r"Could not (?:find|transfer) artifact [^\n]*", done.stdout + done.stderr)
        reason = found.group(0).strip() if found else f"mvn dependency:get exited with {done.returncode}"
        print(f"Marquez: not measured: {MARQUEZ} could not be fetched: {reason}")
        return {"status": "not-available", "artifact": MARQUEZ, "reason": reason}
    print(f"Marquez: {MARQUEZ} fetched, but this suite has no Marquez runner yet")
    return {"status": "fetched-not-run", "artifact": MARQUEZ}


def machine() -> dict[str, Any]:
    cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    memory = next(
        (ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")), "0"
    )
    try:
        java = subprocess.run([find_java(), "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    except (OSError, IndexError, StackError) as exc:
        java = f"unknown ({exc})"
    return {
        "cpus": int(cpus or 0),
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "python": platform.python_version(),
        "java": java,
        "kafka": kafka_server.VERSION,
        "neo4j": neo4j_server.VERSION,
    }


def markdown(result: dict[str, Any]) -> str:
    s, e, f, q = result["stages"], result["end_to_end"], result["freshness"], result["queries"]
    m = result["machine"]
    lines = [
        f"Profile `{result['profile']}`, {result['started']}; {m['cpus']} cores, {m['memory_gib']} GiB, Python "
        f"{m['python']}, {m['java']}, Kafka {m['kafka']}, Neo4j {m['neo4j']}; workload: "
        f"{TOPOLOGY['datasets']:,} datasets, {TOPOLOGY['jobs']:,} jobs, seed 1.",
        "",
        "| measure | figure | target |",
        "| --- | --- | --- |",
        f"| end to end, 1 processor + 1 sink ({e['events']:,} events, {e['seconds']:.0f} s) | "
        f"**{e['events_per_s']:,.0f} events/s** | >= 1.5x the peer; aim 3x |",
        peer_row(result),
        http_row(result),
        f"| stage: pure core (decode + merge + map, in-process) | {s['core']['events_per_s']:,.0f} events/s | |",
        f"| stage: processor worker on one core (Kafka in and out) | {s['processor']['events_per_s']:,.0f} events/s "
        f"({s['processor']['mutations_per_event']} mutations/event) | |",
        f"| stage: sink writes (batches of {s['sink']['batch_messages']} change sets) | "
        f"{s['sink']['events_per_s']:,.0f} events/s ({s['sink']['mutations_per_s']:,.0f} mutations/s, "
        f"{s['sink']['graph_items_per_s']:,.0f} nodes+relationships/s) | |",
    ]
    for point in f:
        backlog = (
            f", {point['not_visible_after_drain']:,} of {point['probes']:,} not visible 60 s after"
            if point["not_visible_after_drain"]
            else ""
        )
        lines.append(
            f"| freshness at {point['offered_events_per_s']:,.0f} events/s offered | p50 {point['p50_s']:.2f} s, "
            f"p99 {point['p99_s']:.2f} s{backlog} | p99 < 2 s |"
        )
    for graph in q:
        for name, label in (
            ("downstream_d5", "downstream impact, depth 5"),
            ("downstream_d10", "downstream impact, depth 10"),
            ("upstream_run_d10", "upstream of a run, depth 10"),
            ("root_cause_d5", "root cause of a failed run, depth 5"),
        ):
            target = "p99 < 100 ms at 10^6 nodes" if name == "downstream_d10" else ""
            lines.append(
                f"| {label}, {graph['nodes']:,} nodes | p50 {graph[name]['p50_ms']:.1f} ms, "
                f"p99 {graph[name]['p99_ms']:.1f} ms | {target} |"
            )
    lines.append(
        f"| peak RSS, processor / sink | {e['peak_rss_mib']['processor']:.0f} / {e['peak_rss_mib']['sink']:.0f} MiB | |"
    )
    lines.append(f"| processor state (RocksDB) | {e['state_bytes_per_run']:,} bytes/run ({e['runs']:,} runs) | |")
    marquez = result["marquez"]
    anchor = "not measured: " + marquez.get("reason", marquez["status"])
    lines.append(f"| Marquez ingest and lineage latency, ratio | {anchor} | ours >= 10x Marquez |")
    return "\n".join(lines) + "\n"


def peer_row(result: dict[str, Any]) -> str:
    peer = result["peer"][PEER_KEY]
    if peer["status"] != "measured":
        return f"| the peer, Data.Rentgen, on the same events from Kafka | not measured: {peer['reason']} | |"
    ours = result["end_to_end"]["events_per_s"]
    return (
        f"| the peer, Data.Rentgen ({peer['peer']}), the same events from Kafka into PostgreSQL "
        f"({peer['seconds']:.0f} s, {peer['cores_used']:.2f} cores) | {peer['events_per_s']:,.0f} events/s; "
        f"**ours / peer = {result['peer']['ratio']:.2f}x** (ours {ours:,.0f}) | ours >= 1.5x |"
    )


def http_row(result: dict[str, Any]) -> str:
    h = result["http"]
    return (
        f"| HTTP door: {h['events']:,} events, {h['clients']} clients, one per request | "
        f"{h['acknowledged_per_s']:,.0f} acknowledged/s (p50 {h['latency_ms']['p50']:.0f} ms, p99 "
        f"{h['latency_ms']['p99']:.0f} ms); **{h['queryable_per_s']:,.0f} events/s to queryable** | >= 1,000 events/s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", choices=sorted(PROFILES), nargs="?", default="quick")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    p = PROFILES[args.profile]
    settings = component_settings()
    print(f"profile {args.profile}: Kafka {settings.kafka_bootstrap}, Neo4j {settings.neo4j_uri}")
    started = time.monotonic()
    result: dict[str, Any] = {
        "profile": args.profile,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"sink_batch_size": settings.sink_batch_size, "topic_partitions": 6, **TOPOLOGY},
    }
    print("\n== stages")
    result["stages"] = {
        "core": core_rate(p["stage_events"]),
        "processor": bench.processor.run(p["stage_events"], **TOPOLOGY),
        "sink": bench.sink.run(p["stage_events"], **TOPOLOGY),
    }
    print("\n== end to end")
    result["end_to_end"] = bench.end_to_end.run(p["e2e_events"], **TOPOLOGY)
    print(f"\n== the peer, {bench.peer.PEER}, on the same events")
    peer = peer_rate(p["e2e_events"])
    ratio = result["end_to_end"]["events_per_s"] / peer["events_per_s"] if peer.get("events_per_s") else None
    result["peer"] = {PEER_KEY: peer, "ratio": round(ratio, 2) if ratio else None}
    print("\n== the HTTP door")
    result["http"] = bench.http_door.run(p["http_events"], **TOPOLOGY)
    print("\n== freshness")
    result["freshness"] = [bench.freshness.run(rate, p["fresh_seconds"], **TOPOLOGY) for rate in (1000, 2000)]
    print("\n== queries")
    result["queries"] = [bench.query_latency.run(nodes, 100) for nodes in p["graphs"]]
    print("\n== Marquez")
    result["marquez"] = marquez_anchor()
    result["seconds"] = round(time.monotonic() - started)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = result["started"].replace(":", "").replace("+0000", "Z")
    (args.out / f"{args.profile}-{stamp}.json").write_text(json.dumps(result, indent=2))
    table = markdown(result)
    (args.out / f"{args.profile}-{stamp}.md").write_text(table)
    (args.out / f"latest-{args.profile}.md").write_text(table)
    (args.out / f"latest-{args.profile}.json").write_text(json.dumps(result, indent=2))
    print(f"\n{table}\n(results in {args.out}; {result['seconds']} s in all)")


if __name__ == "__main__":
    main()
