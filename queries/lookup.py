"""Finding what a user named: identities normalised as ingestion normalises them, and, when the
graph has no such thing, the names it does have that come closest.

A dataset is looked up by its normalised identity (``lineage.naming.normalize``), so
``postgresql://DB`` finds the node stored as ``postgres://db:5432``; a run by its key
(``lineage.naming.run_key``), so a run id of text finds its run. When nothing is found,
``NotFound`` names the spelling looked for and up to ``SUGGESTIONS`` similar names: candidates from
the full-text name indexes the sink creates (words of the name, each allowed a typo or two) and
the same name in other namespaces, ranked by how much of the whole identity they share with the one
asked for. No scan: every candidate comes from an index, at most ``CANDIDATES`` of them.
"""

from __future__ import annotations

import difflib
import logging
import re
from typing import Any

import neo4j
from neo4j.exceptions import ClientError

from lineage.graph_model import NAME_SEARCH_INDEXES
from lineage.keys import DatasetKey
from lineage.naming import normalize, run_key, split_dataset

logger = logging.getLogger(__name__)

SUGGESTIONS = 5
CANDIDATES = 50


class NotFound(LookupError):
    """The dataset, column, job or run asked about is not in the graph.

    ``looked_for``: the identity as looked up (normalised); ``similar``: names that exist, closest
    first (namespace and name each).
    """

    def __init__(self, message: str, looked_for: dict[str, str], similar: list[dict[str, str]] | None = None) -> None:
        self.headline = message
        if similar and "field" not in looked_for:
            message += "; similar: " + ", ".join(f"{s['namespace']}/{s['name']}" for s in similar)
        super().__init__(message)
        self.looked_for = looked_for
        self.similar = similar or []

    def as_dict(self) -> dict[str, Any]:
        return {"lookedFor": self.looked_for, "similar": self.similar}


def dataset_key(namespace: str, name: str | None = None) -> DatasetKey:
    """The identity a user means: ``namespace`` and ``name`` normalised, or (no ``name``) one string
    such as ``postgresql://DB/shop.public.orders`` split and normalised (``naming.split_dataset``)."""
    if name is None:
        return split_dataset(namespace)
    if not namespace.strip() or not name.strip():
        raise ValueError("a dataset needs a namespace and a name")
    return normalize(namespace, name)


def run_id(text: str) -> str:
    """A run id as the graph keys it: the UUID, or the one derived from a run id of text."""
    if not text.strip():
        raise ValueError("a run id is needed")
    return str(run_key(text))


def require_dataset(driver: neo4j.Driver, key: DatasetKey, asked: str) -> None:
    """Return if the dataset is in the graph, else raise NotFound naming the spelling looked for
    (when it differs from ``asked``, what the user typed) and similar names."""
    if _exists(driver, "MATCH (d:Dataset {namespace: $namespace, name: $name}) RETURN 1", key):
        return
    spelled = "" if str(key) == asked else f" (looked for as {key})"
    raise NotFound(
        f"dataset {asked} is not in the graph{spelled}",
        {"namespace": key.namespace, "name": key.name},
        similar_names(driver, "Dataset", key.namespace, key.name),
    )


def require_field(driver: neo4j.Driver, key: DatasetKey, field: str) -> None:
    """Return if the dataset has the column, else raise NotFound naming its closest columns."""
    read = neo4j.RoutingControl.READ
    params = {"namespace": key.namespace, "name": key.name, "field": field}
    if driver.execute_query(
        "MATCH (f:Field {namespace: $namespace, name: $name, field: $field}) RETURN 1", params, routing_=read
    ).records:
        return
    records = driver.execute_query(
        "MATCH (:Dataset {namespace: $namespace, name: $name})-[:HAS_FIELD]->(f:Field) "
        "RETURN f.field AS field LIMIT $limit",
        {"namespace": key.namespace, "name": key.name, "limit": 10 * CANDIDATES},
        routing_=neo4j.RoutingControl.READ,
    ).records
    fields = [r["field"] for r in records]
    close = difflib.get_close_matches(field, fields, n=SUGGESTIONS, cutoff=0.0) if fields else []
    raise NotFound(
        f"column {field} of dataset {key} is not in the graph"
        + (f"; its columns include: {', '.join(close)}" if close else "; the graph knows no columns of it"),
        {"namespace": key.namespace, "name": key.name, "field": field},
        [{"namespace": key.namespace, "name": key.name, "field": f} for f in close],
    )


def require_job(driver: neo4j.Driver, namespace: str, name: str) -> None:
    if _exists(driver, "MATCH (j:Job {namespace: $namespace, name: $name}) RETURN 1", DatasetKey(namespace, name)):
        return
    raise NotFound(
        f"job {namespace}/{name} is not in the graph",
        {"namespace": namespace, "name": name},
        similar_names(driver, "Job", namespace, name),
    )


def require_run(driver: neo4j.Driver, run: str, asked: str) -> None:
    if driver.execute_query(
        "MATCH (r:Run {runId: $runId}) RETURN 1", {"runId": run}, routing_=neo4j.RoutingControl.READ
    ).records:
        return
    spelled = "" if run == asked.strip().lower() else f" (looked for as {run}, the key of the run id {asked!r})"
    raise NotFound(f"run {asked} is not in the graph{spelled}", {"runId": run})


def similar_names(driver: neo4j.Driver, label: str, namespace: str, name: str) -> list[dict[str, str]]:
    """Up to SUGGESTIONS datasets or jobs (``label``) whose identities come closest to the one given."""
    words = [w.lower() for w in re.findall(r"[^\W\d_]{3,}", f"{namespace} {name}")]
    query = " OR ".join(f"{w}~{1 if len(w) < 6 else 2}" for w in dict.fromkeys(words))
    read = neo4j.RoutingControl.READ
    candidates: set[tuple[str, str]] = set()
    try:
        if query:
            records = driver.execute_query(
                "CALL db.index.fulltext.queryNodes($index, $query) YIELD node "
                "RETURN node.namespace AS namespace, node.name AS name LIMIT $limit",
                {"index": NAME_SEARCH_INDEXES[label], "query": query, "limit": CANDIDATES},
                routing_=read,
            ).records
            candidates |= {(r["namespace"], r["name"]) for r in records}
    except ClientError as exc:  # an older graph without the index: suggest from exact names only
        logger.warning("no full-text suggestions for %s %s/%s: %s", label, namespace, name, exc.message)
    records = driver.execute_query(
        f"MATCH (n:{label} {{name: $name}}) RETURN n.namespace AS namespace, n.name AS name LIMIT $limit",
        {"name": name, "limit": CANDIDATES},
        routing_=read,
    ).records
    candidates |= {(r["namespace"], r["name"]) for r in records}
    candidates.discard((namespace, name))
    asked = f"{namespace}/{name}".lower()

    def closeness(candidate: tuple[str, str]) -> tuple[float, float, str, str]:
        whole = difflib.SequenceMatcher(None, asked, f"{candidate[0]}/{candidate[1]}".lower()).ratio()
        of_name = difflib.SequenceMatcher(None, name.lower(), candidate[1].lower()).ratio()
        return (-(whole + of_name), -of_name, *candidate)

    ranked = sorted(candidates, key=closeness)[:SUGGESTIONS]
    return [{"namespace": ns, "name": n} for ns, n in ranked]


def _exists(driver: neo4j.Driver, query: str, key: DatasetKey) -> bool:
    params = {"namespace": key.namespace, "name": key.name}
    return bool(driver.execute_query(query, params, routing_=neo4j.RoutingControl.READ).records)
