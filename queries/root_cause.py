"""Why did this run fail: the runs that failed, were aborted or changed a schema before it, and the
runs it launched that failed, nearest first.

Two ways a run is explained, each a ``Cause`` with its ``relation``:

- ``upstream``: a run that wrote one of this run's inputs (hop 1), or a dataset k job-hops further
  up (hop k+1, within ``depth``), and failed, was aborted or changed the dataset's schema.
- ``child``: a run under this one (``CHILD_OF``, k levels down: hop k) that failed or was aborted.
  Pipelines are built so: an Airflow DAG run fails because a task run failed, a task run because
  the Spark job it launched ran out of memory. A failed child is explained in turn, by its own
  upstream causes (its hop plus theirs), so the answer reaches what broke the child.

``via`` lists the runs between the one asked about and a cause (the chain of parents down to it),
empty for this run's own upstream; ``dataset`` is the dataset an upstream cause wrote (None for a child).

Of each upstream dataset, the ``recent`` latest writes (1 to MAX_RECENT) that ended (or started)
no later than the run are looked at. A write changed the schema if the columns it wrote differ
from those of the dataset's previous write that carried a schema and did not fail or abort
(``WROTE.schemaDigest``), or if it declared an ALTER or DROP (``lifecycleStateChange``). Two jobs
that write different columns into one table take turns as each other's baseline, so each of their
writes counts as a change. Every part is bounded: children ``depth`` levels down, the upstream of
at most MAX_EXPLAINED failed children (the nearest, then the latest).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as default
from typing import Any

import neo4j

from queries.lineage_queries import MAX_DEPTH, upstream_datasets
from queries.lookup import require_run
from queries.lookup import run_id as lookup_run_id

REASONS = ["FAILED", "ABORTED", "SCHEMA_CHANGED", "ALTER", "DROP"]
RECENT_WRITES = 10
MAX_RECENT = 100
# Failed children whose own upstream is looked into; the others are still listed.
MAX_EXPLAINED = 20
MAX_CHILDREN = 1000


@dataclass(frozen=True)
class Cause:
    runId: str
    job: dict[str, str]
    state: str
    startedAt: str | None
    endedAt: str | None
    errorMessage: str | None
    dataset: dict[str, str] | None  # the upstream dataset it wrote; None for a child run
    hops: int
    # Why it is a suspect, of REASONS: FAILED, ABORTED, SCHEMA_CHANGED (its columns differ from
    # the previous write's), ALTER or DROP (its declared lifecycleStateChange).
    reasons: list[str] = default(default_factory=list)
    relation: str = "upstream"  # or "child"
    via: list[str] = default(default_factory=list)  # the runs between the run asked about and this one


def root_cause(driver: neo4j.Driver, run_id: str, depth: int = 5, recent: int = RECENT_WRITES) -> list[Cause]:
    """What explains run ``run_id`` (its id, or the run id of text it was sent with): its failed
    children and the upstream runs that failed or changed a schema, nearest first, then latest."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
    if not 1 <= recent <= MAX_RECENT:
        raise ValueError(f"recent must be between 1 and {MAX_RECENT}, got {recent}")
    run = lookup_run_id(run_id)
    require_run(driver, run, run_id)
    found = _upstream_causes(driver, run, depth, recent)
    children = _failed_children(driver, run, depth)
    found += children
    for child in children[:MAX_EXPLAINED]:
        via = [*child.via, child.runId]
        found += [
            replace(c, hops=c.hops + child.hops, via=via) for c in _upstream_causes(driver, child.runId, depth, recent)
        ]
    return _nearest_first([c for c in found if c.runId != run])


def _nearest_first(found: list[Cause]) -> list[Cause]:
    """One cause per run, at its nearest hop (reasons met at that hop merged), nearest first,
    children before upstream runs at one hop, then latest first."""
    causes: dict[str, Cause] = {}
    for cause in found:
        known = causes.get(cause.runId)
        if known is None or cause.hops < known.hops:
            causes[cause.runId] = cause
        elif cause.hops == known.hops:
            merged = sorted(set(known.reasons) | set(cause.reasons), key=REASONS.index)
            causes[cause.runId] = replace(known, reasons=merged)
    latest_first = sorted(causes.values(), key=lambda c: c.endedAt or c.startedAt or "", reverse=True)
    return sorted(latest_first, key=lambda c: (c.hops, c.relation != "child"))


def _failed_children(driver: neo4j.Driver, run: str, depth: int) -> list[Cause]:
    """The runs under ``run`` (CHILD_OF, up to ``depth`` levels) that failed or were aborted,
    nearest first, then latest."""
    records = driver.execute_query(
        "MATCH (r:Run {runId: $runId}) "
        f"MATCH p = ANY SHORTEST (r)<-[:CHILD_OF]-{{1,{depth}}}(c:Run WHERE c.state IN ['FAILED', 'ABORTED']) "
        "WHERE c <> r "  # parents that loop back (bad data) do not make a run its own child
        "MATCH (c)-[:INSTANCE_OF]->(j:Job) "
        "RETURN c, j, length(p) AS hops, [n IN nodes(p)[1..-1] | n.runId] AS via "
        "ORDER BY hops, coalesce(c.endedAt, c.startedAt) DESC, c.runId LIMIT $limit",
        {"runId": run, "limit": MAX_CHILDREN},
        routing_=neo4j.RoutingControl.READ,
    ).records
    out = []
    for r in records:
        c = r["c"]
        out.append(_cause(c, r["j"], None, r["hops"], reasons=[c.get("state")], relation="child", via=list(r["via"])))
    return out


def _upstream_causes(driver: neo4j.Driver, run: str, depth: int, recent: int) -> list[Cause]:
    """The upstream runs of ``run`` that failed, were aborted or changed a schema (module docs)."""
    hops = {(d.namespace, d.name): d.hops + 1 for d in upstream_datasets(driver, run, depth)}  # each listed once
    if not hops:
        return []
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
        {"runId": run, "datasets": [list(k) for k in hops], "recent": recent, "baselines": recent + 1},
        routing_=neo4j.RoutingControl.READ,
    ).records
    writes: dict[tuple[Any, ...], list[Write]] = {}
    for r in records:
        d = r["d"]
        cause = _cause(
            r["w"], r["j"], {"namespace": d["namespace"], "name": d["name"]}, hops[(r["key"][0], r["key"][1])]
        )
        writes.setdefault((r["key"][0], r["key"][1], d.element_id), []).append(Write(cause, r["schema"], r["change"]))
    return [cause for of_dataset in writes.values() for cause in suspicious_writes(of_dataset, recent)]


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


def _cause(run: Any, job: Any, dataset: dict[str, str] | None, hops: int, **more: Any) -> Cause:
    """A Cause from a Run node and its Job node (no reasons unless given)."""
    return Cause(
        runId=run["runId"],
        job={"namespace": job["namespace"], "name": job["name"]},
        state=run.get("state"),
        startedAt=_iso(run.get("startedAt")),
        endedAt=_iso(run.get("endedAt")),
        errorMessage=run.get("errorMessage"),
        dataset=dataset,
        hops=hops,
        **more,
    )


def _iso(value: Any) -> str | None:
    """A Neo4j DATETIME as ISO 8601 (to the microsecond), or the value as stored."""
    return value.to_native().isoformat() if value is not None and hasattr(value, "to_native") else value
