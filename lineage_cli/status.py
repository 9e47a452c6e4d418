"""``lineage status``: the running pipeline at a glance, live.

For each stage, what waits for it (consumer lag, from the brokers), how fast it moves (committed
offsets between two looks), the dead letters, Neo4j's node and relationship counts, and whether
each component on this host answers its readiness check. ``--json`` prints one look for scripts.

The figures come from Kafka and Neo4j, not from the components, so a stopped stage shows as lag
that grows. Built on rich; the reading (``read_snapshot``) and the arithmetic (``summarize``)
are apart from the drawing.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import neo4j
from neo4j.exceptions import DriverError, Neo4jError
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from lineage.settings import Settings
from lineage_cli.environment import component_settings
from observability.lag import LagReader, PartitionLag, kafka_config, pipeline_groups
from producers.topics import KafkaUnavailable

COMPONENTS = ("ingest", "processor", "sink", "api")
PROBE_SECONDS = 1.0


@dataclass(frozen=True)
class Snapshot:
    at: float  # time.monotonic() when read
    received: int  # records on the events topic (what ingest and integrations sent)
    lags: list[PartitionLag]
    dead_letters: dict[str, int]
    neo4j: dict[str, Any]  # {"nodes", "relationships"} or {"error"}
    components: dict[str, dict[str, str]]


@dataclass(frozen=True)
class Stage:
    stage: str
    group: str
    topic: str
    done: int  # records the group committed, all partitions
    lag: int
    per_second: float | None  # records committed per second between the two looks
    unit: str
    partitions: list[dict[str, Any]] = field(default_factory=list)


def read_snapshot(settings: Settings, reader: LagReader, driver: neo4j.Driver | None) -> Snapshot:
    try:
        lags = reader.read(pipeline_groups(settings))
        at = time.monotonic()  # rates are over the times the offsets were read
        letters = {topic: reader.count(topic) for topic in (settings.dlq_topic, settings.graph_dlq_topic)}
    except Exception as exc:  # KafkaException, a timeout: one clear line
        raise KafkaUnavailable(
            f"cannot read the pipeline's offsets from Kafka at {settings.kafka_bootstrap} ({exc}). Is it "
            "running? Start the local stack with `lineage stack up`, or set LINEAGE_KAFKA_BOOTSTRAP."
        ) from exc
    # Offsets count from 0: a partition's end is how many records it was ever sent.
    received = sum(r.end for r in lags if r.group == settings.processor_group and r.topic == settings.events_topic)
    graph = _graph_counts(driver, settings)
    return Snapshot(at, received, lags, letters, graph, probe_components(settings))


def _graph_counts(driver: neo4j.Driver | None, settings: Settings) -> dict[str, Any]:
    if driver is None:
        return {"error": "not connected"}
    try:
        # Both answered from Neo4j's count store, in constant time. Auto-commit queries: not retried
        # for half a minute as a managed transaction would be while Neo4j is away.
        with driver.session(database=settings.neo4j_database) as session:
            counts = [
                session.run(query).single(strict=True)["n"]
                for query in ("MATCH (n) RETURN count(n) AS n", "MATCH ()-[r]->() RETURN count(r) AS n")
            ]
    except (DriverError, Neo4jError) as exc:
        return {"error": f"did not answer ({type(exc).__name__})"}
    return {"nodes": counts[0], "relationships": counts[1]}


def probe_components(settings: Settings) -> dict[str, dict[str, str]]:
    """Each component's readiness on this host, from its operations port."""
    out: dict[str, dict[str, str]] = {}
    for name, port in settings.metrics_ports.items():
        if port == 0:
            out[name] = {"address": "", "status": "off"}
            continue
        address = f"http://{settings.metrics_host}:{port}"
        try:
            with urllib.request.urlopen(f"{address}/readyz", timeout=PROBE_SECONDS) as answer:
                status = json.loads(answer.read()).get("status", "ok")
        except urllib.error.HTTPError as error:
            try:
                status = json.loads(error.read()).get("status", f"HTTP {error.code}")
            except ValueError:
                status = f"HTTP {error.code}"
        except (OSError, ValueError):
            status = "not running here"
        out[name] = {"address": address, "status": "ready" if status == "ok" else status}
    return out


def summarize(settings: Settings, before: Snapshot | None, now: Snapshot) -> dict[str, Any]:
    """The figures ``lineage status`` shows: stages with lag and rate (rates need ``before``)."""
    seconds = now.at - before.at if before is not None else 0.0

    def rate(after: int, earlier: int | None) -> float | None:
        return round((after - earlier) / seconds, 1) if earlier is not None and seconds > 0 else None

    stages = []
    for stage, group, topic, unit in (
        ("processor: route", settings.processor_group, settings.events_topic, "events/s"),
        ("processor: merge", settings.processor_group, settings.runs_topic, "batches/s"),
        ("sink", settings.sink_group, settings.graph_topic, "change sets/s"),
    ):
        rows = [r for r in now.lags if r.group == group and r.topic == topic]
        earlier = [r for r in before.lags if r.group == group and r.topic == topic] if before else None
        done = sum(r.committed or 0 for r in rows)
        done_before = sum(r.committed or 0 for r in earlier) if earlier is not None else None
        partitions = [
            {"partition": r.partition, "committed": r.committed, "end": r.end, "lag": r.lag}
            for r in sorted(rows, key=lambda r: r.partition)
        ]
        stages.append(
            asdict(
                Stage(stage, group, topic, done, sum(r.lag for r in rows), rate(done, done_before), unit, partitions)
            )
        )
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "kafka": settings.kafka_bootstrap,
        "received": {
            "topic": settings.events_topic,
            "records": now.received,
            "per_second": rate(now.received, before.received if before else None),
        },
        "stages": stages,
        "dead_letters": now.dead_letters,
        "neo4j": {"uri": settings.neo4j_uri, **now.neo4j},
        "components": now.components,
    }


def render(summary: dict[str, Any]) -> Group:
    table = Table(title=f"lineage pipeline · Kafka {summary['kafka']} · {summary['time']}", title_justify="left")
    table.add_column("stage")
    table.add_column("topic")
    table.add_column("records", justify="right")
    table.add_column("lag", justify="right")
    table.add_column("rate", justify="right")
    received = summary["received"]
    table.add_row(
        "received", received["topic"], f"{received['records']:,}", "", _rate(received["per_second"], "events/s")
    )
    for stage in summary["stages"]:
        lag = Text(f"{stage['lag']:,}", style="yellow" if stage["lag"] else "green")
        table.add_row(
            stage["stage"], stage["topic"], f"{stage['done']:,}", lag, _rate(stage["per_second"], stage["unit"])
        )
    neo = summary["neo4j"]
    graph = (
        Text(f"Neo4j {neo['uri']}: {neo['error']}", style="red")
        if "error" in neo
        else Text(f"Neo4j {neo['uri']}: {neo['nodes']:,} nodes, {neo['relationships']:,} relationships")
    )
    letters = Text("dead letters: ") + Text(
        ", ".join(f"{topic} {count:,}" for topic, count in summary["dead_letters"].items()),
        style="red" if any(summary["dead_letters"].values()) else "",
    )
    parts = Text("here: ")
    for i, (name, c) in enumerate(summary["components"].items()):
        style = "green" if c["status"] == "ready" else "dim" if c["status"] in ("off", "not running here") else "yellow"
        parts += Text(("  " if i else "") + f"{name} ") + Text(c["status"], style=style)
    return Group(table, graph, letters, parts)


def _rate(value: float | None, unit: str) -> str:
    return "…" if value is None else f"{value:,.1f} {unit}"


def add_command(sub: Any) -> None:
    status = sub.add_parser("status", help="the running pipeline at a glance, live: lag, rates, dead letters, graph")
    status.add_argument("--json", action="store_true", help="print one look as JSON (rates over --interval)")
    status.add_argument("--once", action="store_true", help="print one look and exit")
    status.add_argument("--interval", type=float, default=2.0, help="seconds between looks (default 2)")
    status.set_defaults(handler=run_status)


def run_status(args: argparse.Namespace) -> int:
    settings = component_settings()
    reader = LagReader(kafka_config(settings), timeout=5.0)
    interval = max(args.interval, 0.2)
    # A Neo4j that does not answer shows as such within seconds, not after the driver's retries.
    options = settings.neo4j_driver_options | {"connection_timeout": 3.0, "connection_acquisition_timeout": 5.0}
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, **options) as driver:
        before = read_snapshot(settings, reader, driver)
        console = Console()
        if args.json or args.once or not console.is_terminal:
            time.sleep(interval)
            summary = summarize(settings, before, read_snapshot(settings, reader, driver))
            if args.json:
                print(json.dumps(summary, indent=2))
            else:
                console.print(render(summary))
            return 0
        with Live(render(summarize(settings, None, before)), console=console, auto_refresh=False) as live:
            try:
                while True:
                    time.sleep(interval)
                    try:
                        now = read_snapshot(settings, reader, driver)
                    except KafkaUnavailable as exc:  # keep watching: it may come back
                        live.update(Group(render(summarize(settings, None, before)), Text(str(exc), style="red")))
                        live.refresh()
                        continue
                    live.update(render(summarize(settings, before, now)), refresh=True)
                    before = now
            except KeyboardInterrupt:
                return 0
