"""``lineage impact``, ``lineage upstream``, ``lineage root-cause``, ``lineage runs``: the queries,
from a terminal. ``--json`` prints what the HTTP API answers."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any

import neo4j
from neo4j.exceptions import DriverError, Neo4jError

from lineage_cli.environment import component_settings
from queries.lineage_queries import MAX_DEPTH, MAX_RUNS, Lineage, downstream, runs_of_job, upstream
from queries.lookup import NotFound
from queries.root_cause import MAX_RECENT, RECENT_WRITES, Cause, root_cause
from sinks.neo4j_writer import unavailable


def add_commands(sub: Any) -> None:
    impact = sub.add_parser("impact", help="what is downstream of a dataset or a column (datasets, jobs, owners)")
    impact.add_argument(
        "namespace",
        help="the dataset's namespace, e.g. postgres://db:5432; or the dataset as one string, e.g. "
        "postgres://db:5432/shop.public.orders (any spelling ingestion joins: postgresql://DB/...)",
    )
    impact.add_argument("name", nargs="?", help="the dataset's name, e.g. shop.public.orders")
    impact.add_argument("--field", help="a column of the dataset: follow column lineage instead")
    impact.add_argument("--since", type=datetime.fromisoformat, help="only edges seen since (ISO 8601 time)")
    _common(impact)
    impact.set_defaults(handler=_impact)

    up = sub.add_parser("upstream", help="what a dataset, or a run's inputs (--run), come from")
    up.add_argument("namespace", nargs="?", help="the dataset's namespace, or the dataset as one string")
    up.add_argument("name", nargs="?", help="the dataset's name")
    up.add_argument("--run", help="a runId: the upstream of the run's inputs")
    _common(up)
    up.set_defaults(handler=_upstream)

    cause = sub.add_parser(
        "root-cause", help="upstream runs that failed or changed a schema before this run, nearest first"
    )
    cause.add_argument("run", help="the runId of the failed run")
    cause.add_argument(
        "--recent",
        type=int,
        default=RECENT_WRITES,
        help=f"latest writes of each upstream dataset to look at, 1 to {MAX_RECENT} (default {RECENT_WRITES})",
    )
    _common(cause)
    cause.set_defaults(handler=_root_cause)

    runs = sub.add_parser("runs", help="a job's runs, latest first, with state, times and errors")
    runs.add_argument("namespace", help="the job's namespace, e.g. airflow-prod")
    runs.add_argument("name", help="the job's name, e.g. orders_daily.load")
    runs.add_argument("--limit", type=int, default=20, help="how many runs, 1 to 1000 (default 20)")
    runs.add_argument("--json", action="store_true", help="print JSON")
    runs.set_defaults(handler=_runs)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--depth", type=int, default=5, help=f"hops to follow, 1 to {MAX_DEPTH} (default 5)")
    parser.add_argument("--json", action="store_true", help="print JSON")


@contextmanager
def _driver() -> Iterator[neo4j.Driver]:
    settings = component_settings()
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, **settings.neo4j_driver_options) as driver:
        try:
            driver.verify_connectivity()
        except (DriverError, Neo4jError) as exc:
            raise unavailable(exc, settings.neo4j_uri, settings.neo4j_user) from exc
        yield driver


def _run(query: Any) -> int:
    try:
        with _driver() as driver:
            return query(driver)
    except NotFound as exc:
        print(f"lineage: {exc.headline}")
        if exc.similar and "field" not in exc.looked_for:
            print("similar names in the graph:")
            for s in exc.similar:
                print(f"  {s['namespace']}  {s['name']}")
        return 1
    except ValueError as exc:
        print(f"lineage: {exc}")
        return 1


def _impact(args: argparse.Namespace) -> int:
    def query(driver: neo4j.Driver) -> int:
        found = downstream(driver, args.namespace, args.name, args.depth, args.since, args.field)
        print(json.dumps(found.as_dict(), indent=2) if args.json else _table(found, "downstream"))
        return 0

    return _run(query)


def _upstream(args: argparse.Namespace) -> int:
    def query(driver: neo4j.Driver) -> int:
        if args.run is not None and args.namespace is not None:
            raise ValueError("give a dataset or --run RUN_ID, not both")
        found = upstream(driver, args.namespace, args.name, args.run, args.depth)
        print(json.dumps(found.as_dict(), indent=2) if args.json else _table(found, "upstream"))
        return 0

    return _run(query)


def _root_cause(args: argparse.Namespace) -> int:
    def query(driver: neo4j.Driver) -> int:
        causes = root_cause(driver, args.run, args.depth, args.recent)
        if args.json:
            print(json.dumps([asdict(c) for c in causes], indent=2))
        elif not causes:
            print(
                f"no child run failed and no upstream run failed or changed a schema before run {args.run} "
                f"(depth {args.depth})"
            )
        else:
            print("\n".join(_cause_line(c) for c in causes))
        return 0

    return _run(query)


def _cause_line(c: Cause) -> str:
    """``hop 1  FAILED  child     spark/clean_orders  run …  ended …``, with where and why."""
    line = (
        f"hop {c.hops}  {','.join(c.reasons):<14} {c.relation:<8}  {c.job['namespace']}/{c.job['name']}  "
        f"run {c.runId}  ended {c.endedAt or '-'}"
    )
    if c.dataset is not None:
        line += f"  wrote {c.dataset['namespace']}/{c.dataset['name']}"
    if c.via:
        line += f"\n        via run{'s' if len(c.via) > 1 else ''} {' > '.join(c.via)}"
    if c.errorMessage:
        first, *more = c.errorMessage.strip().splitlines() or [""]
        line += f"\n        error: {first[:300]}" + (" …" if more or len(first) > 300 else "")
    return line


def _runs(args: argparse.Namespace) -> int:
    def query(driver: neo4j.Driver) -> int:
        if not 1 <= args.limit <= MAX_RUNS:
            raise ValueError(f"--limit must be between 1 and {MAX_RUNS}, got {args.limit}")
        runs = runs_of_job(driver, args.namespace, args.name, args.limit)
        if args.json:
            print(json.dumps(runs, indent=2))
        elif not runs:
            print(f"job {args.namespace}/{args.name} has no runs in the graph (its lineage came from JobEvents)")
        else:
            print(f"runs of {args.namespace}/{args.name}, latest first")
            for r in runs:
                times = f"started {r['startedAt'] or '-'}  ended {r['endedAt'] or '-'}"
                print(
                    f"  {r['state'] or '-':<9}  {r['runId']}  {times}"
                    + (f"  run id sent as {r['sentRunId']!r}" if r.get("sentRunId") else "")
                    + (f"\n             error: {r['errorMessage']}" if r["errorMessage"] else "")
                )
        return 0

    return _run(query)


def _table(found: Lineage, direction: str) -> str:
    start = "/".join(str(v) for v in found.start.values())
    lines = [f"{direction} of {start} (depth {found.depth})"]
    for title, nodes in (("fields", found.fields), ("datasets", found.datasets), ("jobs", found.jobs)):
        if not nodes:
            continue
        lines.append(f"{title}:")
        for n in nodes:
            name = f"{n.namespace}/{n.name}" + (f".{n.field}" if n.field else "")
            owners = f"  owners: {', '.join(n.owners)}" if n.owners else ""
            lines.append(f"  hop {n.hops}  {name}{owners}{_how(n.step)}")
    if len(lines) == 1:
        lines.append("nothing found")
    return "\n".join(lines)


def _how(step: dict[str, Any] | None) -> str:
    """A column-lineage step for people: from which column, how, and whether it masks the data."""
    if step is None:
        return ""
    source = step["from"]
    how = "/".join(step["types"] + step["subtypes"]) or "derived"
    masked = "MASKED here" if step["masking"] else ("masked earlier" if step["masked"] else "not masked")
    return f"  <- {source['name']}.{source['field']} ({how}; {masked})"
