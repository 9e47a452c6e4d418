"""``lineage impact``, ``lineage upstream``, ``lineage root-cause``: the queries, from a terminal."""

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

from queries.lineage_queries import (
    MAX_DEPTH,
    MAX_RECENT,
    RECENT_WRITES,
    Lineage,
    NotFound,
    downstream,
    root_cause,
    upstream,
)
from sinks.neo4j_writer import Neo4jUnavailable


def add_commands(sub: Any) -> None:
    impact = sub.add_parser("impact", help="what is downstream of a dataset or a column (datasets, jobs, owners)")
    impact.add_argument("namespace", help="the dataset's namespace, e.g. postgres://db:5432")
    impact.add_argument("name", help="the dataset's name, e.g. shop.public.orders")
    impact.add_argument("--field", help="a column of the dataset: follow column lineage instead")
    impact.add_argument("--since", type=datetime.fromisoformat, help="only edges seen since (ISO 8601 time)")
    _common(impact)
    impact.set_defaults(handler=_impact)

    up = sub.add_parser("upstream", help="what a dataset, or a run's inputs (--run), come from")
    up.add_argument("namespace", nargs="?", help="the dataset's namespace")
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


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--depth", type=int, default=5, help=f"hops to follow, 1 to {MAX_DEPTH} (default 5)")
    parser.add_argument("--json", action="store_true", help="print JSON")


@contextmanager
def _driver() -> Iterator[neo4j.Driver]:
    from lineage_cli.main import component_settings  # main imports this module

    settings = component_settings()
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, **settings.neo4j_driver_options) as driver:
        try:
            driver.verify_connectivity()
        except (DriverError, Neo4jError) as exc:
            raise Neo4jUnavailable(
                f"cannot reach Neo4j at {settings.neo4j_uri} ({exc}). Start the local stack with `lineage stack up`, "
                "or set LINEAGE_NEO4J_URI."
            ) from exc
        yield driver


def _run(query: Any) -> int:
    try:
        with _driver() as driver:
            return query(driver)
    except (NotFound, ValueError) as exc:
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
            print(f"no upstream run failed or changed a schema before run {args.run} (depth {args.depth})")
        else:
            for c in causes:
                print(
                    f"hop {c.hops}  {','.join(c.reasons):<14} {c.job['namespace']}/{c.job['name']}  run {c.runId}  "
                    f"ended {c.endedAt or '-'}  wrote {c.dataset['namespace']}/{c.dataset['name']}"
                    + (f"\n        error: {c.errorMessage}" if c.errorMessage else "")
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
            lines.append(f"  hop {n.hops}  {name}{owners}")
    if len(lines) == 1:
        lines.append("nothing found")
    return "\n".join(lines)
