"""The questions people ask the graph: one library for the CLI and the HTTP API (``http_api``).

Every traversal is bounded: ``depth`` is 1 to MAX_DEPTH hops (a hop is one job between two
datasets). Dataset lineage is walked breadth first, one query per hop from that hop's new
datasets, so the cost follows the size of the answer, not the number of routes to it; column
lineage uses a shortest-path pattern whose bound is written into its quantifier.

- ``downstream``: what depends on a dataset (or on one of its columns): datasets and the jobs
  that read them, with the hop at which each is reached and their owners. ``since`` keeps only
  edges seen since then (a job's ``CONSUMES``/``PRODUCES`` ``lastSeen``).
- ``upstream``: what a dataset, or a run's inputs, come from: datasets and the jobs writing them.
- ``root_cause`` (its own module): for a run, typically a failed one, its failed children and the
  upstream runs that failed, were aborted or changed a dataset's schema before it ended.
- ``runs_of_job``: a job's runs, latest first, with their states.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from dataclasses import field as default
from datetime import datetime
from typing import Any

import neo4j

from lineage.keys import DatasetKey
from queries.lookup import dataset_key, require_dataset, require_field, require_job, require_run
from queries.lookup import run_id as lookup_run_id

MAX_DEPTH = 20
MAX_RUNS = 1000


@dataclass(frozen=True)
class Node:
    kind: str  # "dataset", "job", "field"
    namespace: str
    name: str
    hops: int
    field: str | None = None
    owners: list[str] = default(default_factory=list)
    # Column lineage: how the field was reached (``_step``).
    step: dict[str, Any] | None = None


@dataclass(frozen=True)
class Lineage:
    start: dict[str, str]
    depth: int
    datasets: list[Node]
    jobs: list[Node]
    fields: list[Node] = default(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    name: str | None,
    depth: int = 5,
    since: datetime | None = None,
    field_name: str | None = None,
) -> Lineage:
    """What is downstream of a dataset (or, with ``field_name``, of one of its columns). The
    dataset is named as a user types it (``lookup.dataset_key``: normalised; ``name`` None for one
    string such as ``postgresql://DB/shop.public.orders``)."""
    depth = _depth(depth)
    key = dataset_key(namespace, name)
    require_dataset(driver, key, _asked(namespace, name))
    if field_name is not None:
        require_field(driver, key, field_name)
        return _column_downstream(driver, key, field_name, depth)
    return _dataset_lineage(driver, key, "down", depth, since)


def _asked(namespace: str, name: str | None) -> str:
    return namespace if name is None else f"{namespace}/{name}"


def _dataset_lineage(
    driver: neo4j.Driver, key: DatasetKey, direction: str, depth: int, since: datetime | None
) -> Lineage:
    start = {"namespace": key.namespace, "name": key.name}
    datasets, jobs = _datasets_and_jobs(driver, _DATASET_AND_ALIASES, direction, depth, since, start)
    return Lineage(start, depth, datasets, jobs)


def _column_downstream(driver: neo4j.Driver, key: DatasetKey, field_name: str, depth: int) -> Lineage:
    start = {"namespace": key.namespace, "name": key.name, "field": field_name}
    # Every shortest route to each column, so that what is said of it does not depend on which
    # one the planner happens to find: it is masked if every route masks it somewhere.
    records = driver.execute_query(
        "MATCH (s:Field {namespace: $namespace, name: $name, field: $field}) "
        f"MATCH p = ALL SHORTEST (s)<-[:DERIVED_FROM]-{{1,{depth}}}(f:Field) "
        "WITH f, length(p) AS hops, nodes(p)[-2] AS source, last(relationships(p)) AS step, "
        "any(r IN relationships(p) WHERE r.masking) AS routeMasked "
        "WITH f, hops, collect(DISTINCT {source: source, step: step}) AS lasts, collect(routeMasked) AS routes "
        "OPTIONAL MATCH (d:Dataset)-[:HAS_FIELD]->(f) "
        "RETURN f, hops, d.facet_ownership AS ownership, lasts, all(m IN routes WHERE m) AS masked",
        start,
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
                step=_step(r["lasts"], r["masked"]),
            )
            for r in records
        ),
        key=lambda n: (n.hops, n.namespace, n.name, n.field or ""),
    )
    datasets: dict[tuple[str, str], Node] = {}
    for f in fields:
        if (f.namespace, f.name) not in datasets:
            datasets[(f.namespace, f.name)] = Node("dataset", f.namespace, f.name, hops=f.hops, owners=f.owners)
    return Lineage(start, depth, list(datasets.values()), [], fields)


def _step(lasts: list[dict[str, Any]], masked: bool) -> dict[str, Any]:
    """How a column was reached: from which column (the first by key, where several lead to it),
    by what transformation, and whether that step (``masking``) or every route to it (``masked``)
    masks the data."""
    first = min(lasts, key=lambda x: (x["source"]["namespace"], x["source"]["name"], x["source"]["field"]))
    source, step = first["source"], first["step"]
    return {
        "from": {"namespace": source["namespace"], "name": source["name"], "field": source["field"]},
        "types": list(step.get("types") or []),
        "subtypes": list(step.get("subtypes") or []),
        "masking": bool(step.get("masking")),
        "masked": bool(masked),
    }


def upstream(
    driver: neo4j.Driver,
    namespace: str | None = None,
    name: str | None = None,
    run_id: str | None = None,
    depth: int = 5,
) -> Lineage:
    """What a dataset comes from, or (``run_id``) what a run's inputs come from. The dataset is
    named as for ``downstream``; the run by its id, or the run id of text it was sent with."""
    depth = _depth(depth)
    if run_id is not None:
        run = lookup_run_id(run_id)
        require_run(driver, run, run_id)
        datasets, jobs = _run_upstream(driver, run, depth)
        return Lineage({"runId": run}, depth, datasets, jobs)
    if namespace is None:
        raise ValueError("upstream needs a dataset (namespace and name, or one string) or a run id")
    key = dataset_key(namespace, name)
    require_dataset(driver, key, _asked(namespace, name))
    return _dataset_lineage(driver, key, "up", depth, None)


def upstream_datasets(driver: neo4j.Driver, run: str, depth: int) -> list[Node]:
    """A run's inputs (hop 0) and the datasets upstream of them, each once with its nearest hop
    (``run`` as the graph keys it)."""
    return _run_upstream(driver, run, _depth(depth))[0]


def _run_upstream(driver: neo4j.Driver, run: str, depth: int) -> tuple[list[Node], list[Node]]:
    inputs = driver.execute_query(
        "MATCH (:Run {runId: $runId})-[:READ]->(d:Dataset) RETURN d",
        {"runId": run},
        routing_=neo4j.RoutingControl.READ,
    ).records
    direct = [
        Node("dataset", r["d"]["namespace"], r["d"]["name"], hops=0, owners=_owners(r["d"].get("facet_ownership")))
        for r in inputs
    ]
    starts = (
        "MATCH (:Run {runId: $runId})-[:READ]->(x:Dataset) "
        "OPTIONAL MATCH (x)-[:ALIAS_OF]-(alias:Dataset) "
        "WITH x, collect(alias) AS aliases UNWIND [x] + aliases AS s"
    )
    datasets, jobs = _datasets_and_jobs(driver, starts, "up", depth, None, {"runId": run})
    return sorted(direct, key=lambda n: (n.namespace, n.name)) + datasets, jobs


def runs_of_job(driver: neo4j.Driver, namespace: str, name: str, limit: int = 20) -> list[dict[str, Any]]:
    """A job's runs, latest first: runId, state, startedAt, endedAt, errorMessage, and sentRunId
    (the run id as sent, when it was text)."""
    if not 1 <= limit <= MAX_RUNS:
        raise ValueError(f"limit must be between 1 and {MAX_RUNS}, got {limit}")
    require_job(driver, namespace, name)
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
            "sentRunId": r["r"].get("sentRunId"),
        }
        for r in records
    ]


def _iso(value: Any) -> str | None:
    """A Neo4j DATETIME as ISO 8601 (to the microsecond), or the value as stored."""
    return value.to_native().isoformat() if value is not None and hasattr(value, "to_native") else value
