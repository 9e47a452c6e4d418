"""The questions people ask the graph: one library for the CLI and the HTTP API (``http_api``).

Every traversal is bounded: ``depth`` is 1 to MAX_DEPTH hops (a hop is one job between two
datasets). Dataset lineage is walked breadth first, one query per hop from that hop's new
datasets, so the cost follows the size of the answer, not the number of routes to it; column
lineage uses a shortest-path pattern whose bound is written into its quantifier.

- ``downstream``: what depends on a dataset (or on one of its columns): datasets and the jobs
  that read them, with the hop at which each is reached and their owners. ``since`` keeps only
  edges seen since then (a job's ``CONSUMES``/``PRODUCES`` ``lastSeen``).
- ``upstream``: what a dataset, or a run's inputs, come from: datasets and the jobs writing them.
- ``root_cause``: for a run (typically a failed one), the upstream runs that failed, were
  aborted or changed a dataset's schema before it ended, nearest first.
- ``runs_of_job``: a job's runs, latest first, with their states.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from dataclasses import field as default
from datetime import datetime
from typing import Any

import neo4j

MAX_DEPTH = 20


class NotFound(LookupError):
    """The dataset, column or run asked about is not in the graph."""


@dataclass(frozen=True)
class Node:
    kind: str  # "dataset", "job", "field"
    namespace: str
    name: str
    hops: int
    field: str | None = None
    owners: list[str] = default(default_factory=list)


@dataclass(frozen=True)
class Lineage:
    start: dict[str, str]
    depth: int
    datasets: list[Node]
    jobs: list[Node]
    fields: list[Node] = default(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Cause:
    runId: str
    job: dict[str, str]
    state: str
    startedAt: str | None
    endedAt: str | None
    errorMessage: str | None
    dataset: dict[str, str]  # the upstream dataset it writes
    hops: int
    # Why it is a suspect, of REASONS: FAILED, ABORTED, SCHEMA_CHANGED (its columns differ from
    # the previous write's), ALTER or DROP (its declared lifecycleStateChange).
    reasons: list[str] = default(default_factory=list)


REASONS = ["FAILED", "ABORTED", "SCHEMA_CHANGED", "ALTER", "DROP"]
RECENT_WRITES = 10
MAX_RECENT = 100


def _depth(depth: int) -> int:
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
    return depth


def _owners(facet: str | None) -> list[str]:
    try:
        owners = json.loads(facet).get("owners", []) if facet else []
    except (ValueError, AttributeError):
        return []
    return sorted({o["name"] for o in owners if isinstance(o, dict) and isinstance(o.get("name"), str)})


def _require(driver: neo4j.Driver, query: str, what: str, **params: Any) -> None:
    if not driver.execute_query(query, params, routing_=neo4j.RoutingControl.READ).records:
        raise NotFound(f"{what} is not in the graph")


def _datasets_and_jobs(
    driver: neo4j.Driver, starts_query: str, direction: str, depth: int, since: datetime | None, params: dict[str, Any]
) -> tuple[list[Node], list[Node]]:
    """Datasets reachable from the start datasets (hop 0) and the jobs on the way, breadth first.

    "down" follows ``(dataset)<-[:CONSUMES]-(job)-[:PRODUCES]->(dataset)``, "up" the reverse; an
    ``ALIAS_OF`` edge (a path and its table, a rename) joins two names of one dataset, so it is
    crossed at no cost. One query per hop, each starting from that hop's new datasets only: the
    work grows with the answer, not with the number of routes to it.
    """
    into, out = ("CONSUMES", "PRODUCES") if direction == "down" else ("PRODUCES", "CONSUMES")
    read = neo4j.RoutingControl.READ
    starts = driver.execute_query(
        f"{starts_query} RETURN DISTINCT s.namespace AS namespace, s.name AS name", params, routing_=read
    ).records
    seen: dict[tuple[str, str], int] = {(r["namespace"], r["name"]): 0 for r in starts}
    found: dict[tuple[str, str], Node] = {}
    jobs: dict[tuple[str, str], Node] = {}
    frontier = [list(k) for k in seen]
    for hop in range(1, depth + 1):
        if not frontier:
            break
        records = driver.execute_query(
            "UNWIND $frontier AS key "
            f"MATCH (:Dataset {{namespace: key[0], name: key[1]}})<-[a:{into}]-(j:Job) "
            "WHERE $since IS NULL OR a.lastSeen >= $since "
            f"OPTIONAL MATCH (j)-[b:{out}]->(n:Dataset) WHERE $since IS NULL OR b.lastSeen >= $since "
            "OPTIONAL MATCH (n)-[:ALIAS_OF]-(alias:Dataset) "
            "RETURN j, n, collect(alias) AS aliases",
            {"frontier": frontier, "since": since},
            routing_=read,
        ).records
        frontier = []
        for r in records:
            j = r["j"]
            jobs.setdefault(
                (j["namespace"], j["name"]),
                Node("job", j["namespace"], j["name"], hops=hop, owners=_owners(j.get("facet_ownership"))),
            )
            for d in (r["n"], *r["aliases"]) if r["n"] is not None else ():
                key = (d["namespace"], d["name"])
                if key in seen:
                    continue
                seen[key] = hop
                found[key] = Node("dataset", *key, hops=hop, owners=_owners(d.get("facet_ownership")))
                frontier.append(list(key))
    order = lambda n: (n.hops, n.namespace, n.name)  # noqa: E731
    return sorted(found.values(), key=order), sorted(jobs.values(), key=order)


_DATASET_AND_ALIASES = (
    "MATCH (x:Dataset {namespace: $namespace, name: $name}) "
    "OPTIONAL MATCH (x)-[:ALIAS_OF]-(alias:Dataset) "
    "WITH x, collect(alias) AS aliases UNWIND [x] + aliases AS s"
)


def downstream(
    driver: neo4j.Driver,
    namespace: str,
    name: str,
    depth: int = 5,
    since: datetime | None = None,
    field_name: str | None = None,
) -> Lineage:
    """What is downstream of a dataset (or, with ``field_name``, of one of its columns)."""
    depth = _depth(depth)
    if field_name is not None:
        return _column_downstream(driver, namespace, name, field_name, depth)
    return _dataset_lineage(driver, namespace, name, "down", depth, since)


def _dataset_lineage(
    driver: neo4j.Driver, namespace: str, name: str, direction: str, depth: int, since: datetime | None
) -> Lineage:
    _require(
        driver,
        "MATCH (d:Dataset {namespace: $namespace, name: $name}) RETURN d",
        f"dataset {namespace}/{name}",
        namespace=namespace,
        name=name,
    )
    key = {"namespace": namespace, "name": name}
    datasets, jobs = _datasets_and_jobs(driver, _DATASET_AND_ALIASES, direction, depth, since, key)
    return Lineage(key, depth, datasets, jobs)


def _column_downstream(driver: neo4j.Driver, namespace: str, name: str, field_name: str, depth: int) -> Lineage:
    key = {"namespace": namespace, "name": name, "field": field_name}
    _require(
        driver,
        "MATCH (f:Field {namespace: $namespace, name: $name, field: $field}) RETURN f",
        f"column {namespace}/{name}.{field_name}",
        **key,
    )
    records = driver.execute_query(
        "MATCH (s:Field {namespace: $namespace, name: $name, field: $field}) "
        f"MATCH p = ANY SHORTEST (s)<-[:DERIVED_FROM]-{{1,{depth}}}(f:Field) "
        "OPTIONAL MATCH (d:Dataset)-[:HAS_FIELD]->(f) "
        "RETURN f, length(p) AS hops, d.facet_ownership AS ownership, "
        "any(r IN relationships(p) WHERE r.masking) AS masked",
        key,
        routing_=neo4j.RoutingControl.READ,
    ).records
    fields = sorted(
        (
            Node(
                "field",
                r["f"]["namespace"],
                r["f"]["name"],
                hops=r["hops"],
                field=r["f"]["field"],
                owners=_owners(r["ownership"]),
            )
            for r in records
        ),
        key=lambda n: (n.hops, n.namespace, n.name, n.field or ""),
    )
    datasets: dict[tuple[str, str], Node] = {}
    for f in fields:
        if (f.namespace, f.name) not in datasets:
            datasets[(f.namespace, f.name)] = Node("dataset", f.namespace, f.name, hops=f.hops, owners=f.owners)
    return Lineage(key, depth, list(datasets.values()), [], fields)


def upstream(
    driver: neo4j.Driver,
    namespace: str | None = None,
    name: str | None = None,
    run_id: str | None = None,
    depth: int = 5,
) -> Lineage:
    """What a dataset comes from, or (``run_id``) what a run's inputs come from."""
    depth = _depth(depth)
    if run_id is not None:
        _require(driver, "MATCH (r:Run {runId: $runId}) RETURN r", f"run {run_id}", runId=run_id)
        starts = (
            "MATCH (:Run {runId: $runId})-[:READ]->(x:Dataset) "
            "OPTIONAL MATCH (x)-[:ALIAS_OF]-(alias:Dataset) "
            "WITH x, collect(alias) AS aliases UNWIND [x] + aliases AS s"
        )
        datasets, jobs = _datasets_and_jobs(driver, starts, "up", depth, None, {"runId": run_id})
        inputs = driver.execute_query(
            "MATCH (:Run {runId: $runId})-[:READ]->(d:Dataset) RETURN d",
            {"runId": run_id},
            routing_=neo4j.RoutingControl.READ,
        ).records
        direct = [
            Node("dataset", r["d"]["namespace"], r["d"]["name"], hops=0, owners=_owners(r["d"].get("facet_ownership")))
            for r in inputs
        ]
        return Lineage({"runId": run_id}, depth, sorted(direct, key=lambda n: (n.namespace, n.name)) + datasets, jobs)
    if namespace is None or name is None:
        raise ValueError("upstream needs a dataset (namespace and name) or a run id")
    return _dataset_lineage(driver, namespace, name, "up", depth, None)


def root_cause(driver: neo4j.Driver, run_id: str, depth: int = 5, recent: int = RECENT_WRITES) -> list[Cause]:
    """Upstream runs that failed, were aborted or changed a schema before this run: nearest first,
    then latest.

    Upstream means: runs that wrote one of this run's inputs (hop 1), or a dataset k job-hops
    further up (hop k+1, within ``depth``). Of each upstream dataset, the ``recent`` latest writes
    (1 to MAX_RECENT) that ended (or started) no later than this run are looked at. A write
    changed the schema if the columns it wrote differ from those of the dataset's previous write
    that carried a schema and did not fail or abort (``WROTE.schemaDigest``), or if it declared an
    ALTER or DROP (``lifecycleStateChange``). Two jobs that write different columns into one
    table take turns as each other's baseline, so each of their writes counts as a change.
    """
    if not 1 <= recent <= MAX_RECENT:
        raise ValueError(f"recent must be between 1 and {MAX_RECENT}, got {recent}")
    lineage = upstream(driver, run_id=run_id, depth=depth)
    hops = {(d.namespace, d.name): d.hops + 1 for d in lineage.datasets}  # each listed once
    records = driver.execute_query(
        "MATCH (r:Run {runId: $runId}) "
        "WITH r, coalesce(r.endedAt, r.startedAt, datetime()) AS until "
        "UNWIND $datasets AS key "
        "MATCH (:Dataset {namespace: key[0], name: key[1]})-[:ALIAS_OF*0..1]-(d:Dataset) "
        # The latest writes, and the latest writes that can serve as a schema baseline (with a
        # schema, not failed or aborted): the one before each write of the window is among them.
        "CALL (r, d, until) { "
        "  MATCH (d)<-[e:WROTE]-(w:Run)-[:INSTANCE_OF]->(j:Job) "
        "  WHERE w <> r AND coalesce(w.endedAt, w.startedAt) <= until "
        "  RETURN w, e, j ORDER BY coalesce(w.endedAt, w.startedAt) DESC, w.runId DESC LIMIT $recent "
        "  UNION "
        "  MATCH (d)<-[e:WROTE]-(w:Run)-[:INSTANCE_OF]->(j:Job) "
        "  WHERE w <> r AND coalesce(w.endedAt, w.startedAt) <= until AND e.schemaDigest IS NOT NULL "
        "  AND NOT coalesce(w.state, '') IN ['FAILED', 'ABORTED'] "
        "  RETURN w, e, j ORDER BY coalesce(w.endedAt, w.startedAt) DESC, w.runId DESC LIMIT $baselines "
        "} "
        "RETURN key, d, w, e.schemaDigest AS schema, e.lifecycleStateChange AS change, j",
        {"runId": run_id, "datasets": [list(k) for k in hops], "recent": recent, "baselines": recent + 1},
        routing_=neo4j.RoutingControl.READ,
    ).records
    writes: dict[tuple[Any, ...], list[Write]] = {}
    for r in records:
        w, d, j = r["w"], r["d"], r["j"]
        cause = Cause(
            runId=w["runId"],
            job={"namespace": j["namespace"], "name": j["name"]},
            state=w.get("state"),
            startedAt=_iso(w.get("startedAt")),
            endedAt=_iso(w.get("endedAt")),
            errorMessage=w.get("errorMessage"),
            dataset={"namespace": d["namespace"], "name": d["name"]},
            hops=hops[(r["key"][0], r["key"][1])],
        )
        writes.setdefault((r["key"][0], r["key"][1], d.element_id), []).append(Write(cause, r["schema"], r["change"]))
    causes: dict[str, Cause] = {}
    for of_dataset in writes.values():
        for cause in suspicious_writes(of_dataset, recent):
            known = causes.get(cause.runId)
            if known is None or cause.hops < known.hops:
                causes[cause.runId] = cause
            elif cause.hops == known.hops:
                merged = sorted(set(known.reasons) | set(cause.reasons), key=REASONS.index)
                causes[cause.runId] = replace(known, reasons=merged)
    latest_first = sorted(causes.values(), key=lambda c: c.endedAt or c.startedAt or "", reverse=True)
    return sorted(latest_first, key=lambda c: c.hops)


@dataclass(frozen=True)
class Write:
    """One run's write of a dataset, as root cause sees it."""

    cause: Cause  # with no reasons yet
    schema: str | None  # WROTE.schemaDigest
    change: str | None  # WROTE.lifecycleStateChange


def suspicious_writes(writes: list[Write], recent: int) -> list[Cause]:
    """Of one dataset's writes, the ``recent`` latest that failed, aborted or changed its schema,
    each with its reasons. Each schema is compared with the baseline: the next older write that
    had one and did not fail or abort (a failed write's columns are no one's expectation)."""
    ordered = sorted(writes, key=lambda w: (w.cause.endedAt or w.cause.startedAt or "", w.cause.runId), reverse=True)
    out = []
    for i, write in enumerate(ordered[:recent]):
        reasons = []
        if write.cause.state in ("FAILED", "ABORTED"):
            reasons.append(write.cause.state)
        previous = next(
            (
                older.schema
                for older in ordered[i + 1 :]
                if older.schema is not None and older.cause.state not in ("FAILED", "ABORTED")
            ),
            None,
        )
        if write.schema is not None and previous is not None and previous != write.schema:
            reasons.append("SCHEMA_CHANGED")
        if write.change in ("ALTER", "DROP"):
            reasons.append(write.change)
        if reasons:
            out.append(replace(write.cause, reasons=reasons))
    return out


def runs_of_job(driver: neo4j.Driver, namespace: str, name: str, limit: int = 20) -> list[dict[str, Any]]:
    """A job's runs, latest first: runId, state, startedAt, endedAt, errorMessage."""
    _require(
        driver,
        "MATCH (j:Job {namespace: $namespace, name: $name}) RETURN j",
        f"job {namespace}/{name}",
        namespace=namespace,
        name=name,
    )
    records = driver.execute_query(
        "MATCH (:Job {namespace: $namespace, name: $name})<-[:INSTANCE_OF]-(r:Run) "
        "RETURN r ORDER BY coalesce(r.startedAt, r.endedAt) DESC, r.runId LIMIT $limit",
        {"namespace": namespace, "name": name, "limit": limit},
        routing_=neo4j.RoutingControl.READ,
    ).records
    return [
        {
            "runId": r["r"]["runId"],
            "state": r["r"].get("state"),
            "startedAt": _iso(r["r"].get("startedAt")),
            "endedAt": _iso(r["r"].get("endedAt")),
            "errorMessage": r["r"].get("errorMessage"),
        }
        for r in records
    ]


def _iso(value: Any) -> str | None:
    """A Neo4j DATETIME as ISO 8601 (to the microsecond), or the value as stored."""
    return value.to_native().isoformat() if value is not None and hasattr(value, "to_native") else value
