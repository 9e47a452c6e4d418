"""Everything the graph holds about one dataset, job or run: the explorer's details panel.

Each answer is bounded: a job's runs are its latest ``runs`` (at most ``MAX_RUNS``), a run's
inputs, outputs and children at most ``MAX_LISTED`` each. Facets come back parsed from the JSON
the graph keeps them as (``facet_<name>``).
"""

from __future__ import annotations

import json
from typing import Any

import neo4j

from lineage.graph_model import FACET_PREFIX
from queries.lineage_queries import MAX_RUNS, _iso, _owners
from queries.lookup import require_run
from queries.lookup import run_id as lookup_run_id
from queries.neighbourhood import _describe, node_id, resolve, run_summary

MAX_LISTED = 1000


def facets(props: dict[str, Any]) -> dict[str, Any]:
    """A node's facets by name, parsed (a value that is not JSON is kept as text)."""
    out: dict[str, Any] = {}
    for key, value in sorted(props.items()):
        if key.startswith(FACET_PREFIX) and value is not None:
            try:
                out[key.removeprefix(FACET_PREFIX)] = json.loads(value)
            except (TypeError, ValueError):
                out[key.removeprefix(FACET_PREFIX)] = value
    return out


def dataset_details(driver: neo4j.Driver, namespace: str, name: str) -> dict[str, Any]:
    namespace, name = resolve(driver, "dataset", namespace, name)
    record = driver.execute_query(
        "MATCH (d:Dataset {namespace: $namespace, name: $name}) "
        "CALL (d) { OPTIONAL MATCH (d)-[:ALIAS_OF]-(a:Dataset) "
        "  RETURN collect(DISTINCT {namespace: a.namespace, name: a.name}) AS aliases } "
        "CALL (d) { OPTIONAL MATCH (d)-[:HAS_FIELD]->(f:Field) WITH f ORDER BY f.field "
        "  RETURN collect({name: f.field, type: f.type, description: f.description}) AS fields } "
        "RETURN properties(d) AS props, aliases, fields",
        {"namespace": namespace, "name": name},
        routing_=neo4j.RoutingControl.READ,
    ).records[0]
    props = dict(record["props"])
    found = facets(props)
    out: dict[str, Any] = {
        "id": node_id("dataset", namespace, name),
        "kind": "dataset",
        "namespace": namespace,
        "name": name,
        "aliases": [a for a in record["aliases"] if a["name"] is not None],
        "fields": [f for f in record["fields"] if f["name"] is not None],
        "owners": _owners(props.get(FACET_PREFIX + "ownership")),
        "tags": _tags(found.get("tags")),
        "facets": found,
    }
    _describe(driver, [out])
    return out


def job_details(driver: neo4j.Driver, namespace: str, name: str, runs: int = 20) -> dict[str, Any]:
    if not 1 <= runs <= MAX_RUNS:
        raise ValueError(f"runs must be between 1 and {MAX_RUNS}, got {runs}")
    namespace, name = resolve(driver, "job", namespace, name)
    record = driver.execute_query(
        "MATCH (j:Job {namespace: $namespace, name: $name}) "
        "CALL (j) { OPTIONAL MATCH (j)<-[:INSTANCE_OF]-(r:Run) "
        "  WITH r ORDER BY coalesce(r.startedAt, r.endedAt) DESC, r.runId LIMIT $runs RETURN collect(r) AS runs } "
        "RETURN properties(j) AS props, runs",
        {"namespace": namespace, "name": name, "runs": runs},
        routing_=neo4j.RoutingControl.READ,
    ).records[0]
    props = dict(record["props"])
    found = facets(props)
    sql = found.get("sql")
    return {
        "id": node_id("job", namespace, name),
        "kind": "job",
        "namespace": namespace,
        "name": name,
        "type": _job_type(found.get("jobType")),
        "owners": _owners(props.get(FACET_PREFIX + "ownership")),
        "sql": sql.get("query") if isinstance(sql, dict) and isinstance(sql.get("query"), str) else None,
        "facets": found,
        "runs": [run_summary(r) for r in record["runs"]],
    }


def run_details(driver: neo4j.Driver, asked: str) -> dict[str, Any]:
    run = lookup_run_id(asked)
    require_run(driver, run, asked)
    record = driver.execute_query(
        "MATCH (r:Run {runId: $runId}) "
        "OPTIONAL MATCH (r)-[:INSTANCE_OF]->(j:Job) "
        "CALL (r) { OPTIONAL MATCH (r)-[:READ]->(d:Dataset) WITH d ORDER BY d.namespace, d.name LIMIT $most "
        "  RETURN collect({namespace: d.namespace, name: d.name}) AS inputs } "
        "CALL (r) { OPTIONAL MATCH (r)-[:WROTE]->(d:Dataset) WITH d ORDER BY d.namespace, d.name LIMIT $most "
        "  RETURN collect({namespace: d.namespace, name: d.name}) AS outputs } "
        "CALL (r) { OPTIONAL MATCH (r)-[:CHILD_OF]->(p:Run) OPTIONAL MATCH (p)-[:INSTANCE_OF]->(pj:Job) "
        "  RETURN collect({run: p, job: pj})[0] AS parent } "
        "CALL (r) { OPTIONAL MATCH (c:Run)-[:CHILD_OF]->(r) OPTIONAL MATCH (c)-[:INSTANCE_OF]->(cj:Job) "
        "  WITH c, cj ORDER BY coalesce(c.startedAt, c.endedAt), c.runId LIMIT $most "
        "  RETURN collect({run: c, job: cj}) AS children } "
        "RETURN r, j, inputs, outputs, parent, children",
        {"runId": run, "most": MAX_LISTED},
        routing_=neo4j.RoutingControl.READ,
    ).records[0]
    summary = run_summary(record["r"]) or {}
    job = record["j"]
    parent = record["parent"]
    return {
        **summary,
        "sentRunId": record["r"].get("sentRunId"),
        "job": {"namespace": job["namespace"], "name": job["name"]} if job is not None else None,
        "nominalStartTime": _iso(record["r"].get("nominalStartTime")),
        "inputs": [d for d in record["inputs"] if d["name"] is not None],
        "outputs": [d for d in record["outputs"] if d["name"] is not None],
        "parent": _related(parent) if parent and parent["run"] is not None else None,
        "children": [_related(c) for c in record["children"] if c["run"] is not None],
        "facets": facets(dict(record["r"])),
    }


def _related(pair: dict[str, Any]) -> dict[str, Any]:
    run, job = pair["run"], pair["job"]
    return {
        "runId": run["runId"],
        "state": run.get("state"),
        "job": {"namespace": job["namespace"], "name": job["name"]} if job is not None else None,
    }


def _tags(facet: Any) -> list[str]:
    tags = facet.get("tags") if isinstance(facet, dict) else None
    if not isinstance(tags, list):
        return []
    out = []
    for tag in tags:
        if isinstance(tag, dict) and isinstance(tag.get("key"), str):
            value = tag.get("value")
            out.append(f"{tag['key']}={value}" if isinstance(value, str) and value else tag["key"])
    return sorted(out)


def _job_type(facet: Any) -> str | None:
    if not isinstance(facet, dict):
        return None
    parts = [facet.get(k) for k in ("integration", "jobType", "processingType")]
    return " / ".join(p for p in parts if isinstance(p, str) and p) or None
