"""A dataset's or job's neighbourhood, for the lineage explorer: what is drawn around a node.

Datasets and jobs are the nodes; data flows from a dataset to the jobs that read it
(``CONSUMES``) and from a job to the datasets it writes (``PRODUCES``). A step is one edge, so
``depth`` 2 around a dataset shows the jobs that read it and what they write. A dataset's other
names (``ALIAS_OF``) are shown beside it, at the same step, and walked on from. The walk is
breadth first, a few queries per step and direction from that step's new nodes only.

Fan-out stays bounded: of one node's neighbours on one side, the ``limit`` most recently seen are
walked; the rest are counted, not fetched, and reported as ``collapsed`` (the "+K more" of the
explorer; ``neighbours`` pages through them). A dataset read by 5,000 jobs costs one count and
``limit`` rows, however deep the walk.

Each node carries what the explorer shows at a glance: a job its latest run (the run behind the
most recently seen of its edges, found by key, so the cost does not grow with the job's history),
a dataset when it was last written and whether that write changed its schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import neo4j

from lineage.keys import DatasetKey
from queries.lineage_queries import _iso
from queries.lookup import NotFound, dataset_key, require_dataset, require_field, similar_names

MAX_DEPTH = 20
MAX_LIMIT = 500
MAX_PAGE = 500

Kind = Literal["dataset", "job"]
Side = Literal["upstream", "downstream"]
LABELS: dict[str, str] = {"dataset": "Dataset", "job": "Job"}
DIRECTIONS: dict[str, tuple[Side, ...]] = {
    "upstream": ("upstream",),
    "downstream": ("downstream",),
    "both": ("upstream", "downstream"),
}

# From a node of a kind, on a side: the pattern to its neighbours (``e`` the edge, ``n`` the
# neighbour), and the edge's direction in the drawing (True: from the neighbour to the node).
_STEPS: dict[tuple[str, Side], tuple[str, bool]] = {
    ("dataset", "downstream"): ("(s)<-[e:CONSUMES]-(n:Job)", False),
    ("dataset", "upstream"): ("(s)<-[e:PRODUCES]-(n:Job)", True),
    ("job", "downstream"): ("(s)-[e:PRODUCES]->(n:Dataset)", False),
    ("job", "upstream"): ("(s)-[e:CONSUMES]->(n:Dataset)", True),
}


def node_id(kind: str, namespace: str, name: str) -> str:
    """The explorer's id of a dataset or job: opaque to clients, stable across answers."""
    return f"{kind}:{namespace}\x1f{name}"


def resolve(driver: neo4j.Driver, kind: str, namespace: str, name: str) -> tuple[str, str]:
    """The (namespace, name) a user means, normalised for a dataset; NotFound if it is not in the graph."""
    if kind == "dataset":
        key = dataset_key(namespace, name)
        require_dataset(driver, key, f"{namespace}/{name}")
        return key.namespace, key.name
    if kind != "job":
        raise ValueError(f"kind must be dataset or job, got {kind!r}")
    if not namespace.strip() or not name.strip():
        raise ValueError("a job needs a namespace and a name")
    records = driver.execute_query(
        "MATCH (j:Job {namespace: $namespace, name: $name}) RETURN j.name AS name LIMIT 1",
        {"namespace": namespace, "name": name},
        routing_=neo4j.RoutingControl.READ,
    ).records
    if not records:
        raise NotFound(
            f"job {namespace}/{name} is not in the graph",
            {"namespace": namespace, "name": name},
            similar_names(driver, "Job", namespace, name),
        )
    return namespace, name


def neighbourhood(
    driver: neo4j.Driver,
    kind: str,
    namespace: str,
    name: str,
    depth: int = 2,
    direction: str = "both",
    since: datetime | None = None,
    limit: int = 25,
) -> dict[str, Any]:
    """The nodes within ``depth`` steps of a dataset or job, the edges between them, and what was
    collapsed (module docs)."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be upstream, downstream or both, got {direction!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    namespace, name = resolve(driver, kind, namespace, name)
    center = node_id(kind, namespace, name)
    nodes: dict[str, dict[str, Any]] = {center: _node(kind, namespace, name, 0, "center")}
    edges: dict[str, dict[str, Any]] = {}
    collapsed: list[dict[str, Any]] = []
    for side in DIRECTIONS[direction]:
        frontier = [(kind, namespace, name)]
        frontier += _with_aliases(driver, frontier, nodes, edges, 0, side)
        for hop in range(1, depth + 1):
            if not frontier:
                break
            found, more = _step(driver, frontier, side, since, limit)
            frontier = []
            for neighbour, edge, aliases in found:
                edges.setdefault(edge["id"], edge)
                for each in (neighbour, *aliases):
                    nid = node_id(*each)
                    if nid not in nodes:
                        nodes[nid] = _node(*each, hop, side)
                        frontier.append(each)
                for alias in aliases:
                    alias_edge = _alias_edge(node_id(*neighbour), node_id(*alias), aliases[alias])
                    edges.setdefault(alias_edge["id"], alias_edge)
            collapsed += more
    _describe(driver, list(nodes.values()))
    return {"center": center, "nodes": list(nodes.values()), "edges": list(edges.values()), "collapsed": collapsed}


def neighbours(
    driver: neo4j.Driver,
    kind: str,
    namespace: str,
    name: str,
    side: str,
    text: str = "",
    offset: int = 0,
    limit: int = 100,
    since: datetime | None = None,
) -> dict[str, Any]:
    """One side's neighbours of a node, the most recently seen first, filtered by part of their
    name and paged: the "+K more" list. ``{"total", "items"}``."""
    if side not in ("upstream", "downstream"):
        raise ValueError(f"side must be upstream or downstream, got {side!r}")
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, got {offset}")
    namespace, name = resolve(driver, kind, namespace, name)
    pattern, _ = _STEPS[(kind, side)]  # type: ignore[index]
    label = LABELS[kind]
    record = driver.execute_query(
        f"MATCH (s:{label} {{namespace: $namespace, name: $name}}) "
        f"CALL (s) {{ MATCH {pattern} "
        "  WHERE ($since IS NULL OR e.lastSeen >= $since) AND ($text = '' OR toLower(n.name) CONTAINS $text) "
        "  RETURN n ORDER BY e.lastSeen DESC, n.namespace, n.name } "
        "WITH collect(n) AS matched "
        "RETURN size(matched) AS total, matched[$offset..$offset + $limit] AS page",
        {
            "namespace": namespace,
            "name": name,
            "since": since,
            "text": text.strip().lower(),
            "offset": offset,
            "limit": limit,
        },
        routing_=neo4j.RoutingControl.READ,
    ).records[0]
    other = "job" if kind == "dataset" else "dataset"
    items = [_node(other, n["namespace"], n["name"], None, side) for n in record["page"]]
    _describe(driver, items)
    return {"total": record["total"], "items": items}


def _step(
    driver: neo4j.Driver, frontier: list[tuple[str, str, str]], side: Side, since: datetime | None, limit: int
) -> tuple[list[tuple[tuple[str, str, str], dict[str, Any], dict[tuple[str, str, str], bool]]], list[dict[str, Any]]]:
    """One step from the frontier's nodes on one side: (neighbour, edge, the neighbour's aliases)
    for the ``limit`` most recently seen neighbours of each, and a collapsed entry for each that
    has more. An alias maps to whether its ``ALIAS_OF`` edge starts at the neighbour."""
    found: list[tuple[tuple[str, str, str], dict[str, Any], dict[tuple[str, str, str], bool]]] = []
    collapsed: list[dict[str, Any]] = []
    for kind in ("dataset", "job"):
        keys = [[ns, n] for k, ns, n in frontier if k == kind]
        if not keys:
            continue
        pattern, inward = _STEPS[(kind, side)]
        other = "job" if kind == "dataset" else "dataset"
        # With no since, the count is the node's degree in that relationship: read, not walked.
        count = f"COUNT {{ {pattern} }}" if since is None else f"COUNT {{ {pattern} WHERE e.lastSeen >= $since }}"
        # A dataset reached is shown with its other names (a path and its table, a rename).
        aliases = (
            "CALL (n) { OPTIONAL MATCH (n)-[a:ALIAS_OF]-(x:Dataset) "
            "  RETURN collect({namespace: x.namespace, name: x.name, outward: startNode(a) = n}) AS aliases } "
            if other == "dataset"
            else "WITH key, total, n, e, [] AS aliases "
        )
        records = driver.execute_query(
            "UNWIND $keys AS key "
            f"MATCH (s:{LABELS[kind]} {{namespace: key[0], name: key[1]}}) "
            f"WITH s, key, {count} AS total "
            f"CALL (s) {{ MATCH {pattern} WHERE $since IS NULL OR e.lastSeen >= $since "
            "  RETURN n, e ORDER BY e.lastSeen DESC, n.namespace, n.name LIMIT $limit } "
            f"{aliases}"
            "RETURN key, total, collect({namespace: n.namespace, name: n.name, type: type(e), "
            "lastSeen: e.lastSeen, aliases: aliases}) AS shown",
            {"keys": keys, "since": since, "limit": limit},
            routing_=neo4j.RoutingControl.READ,
        ).records
        for r in records:
            source = node_id(kind, r["key"][0], r["key"][1])
            for n in r["shown"]:
                neighbour = (other, n["namespace"], n["name"])
                target = node_id(*neighbour)
                start, end = (target, source) if inward else (source, target)
                edge = {
                    "id": f"{n['type']}:{start}->{end}",
                    "source": start,
                    "target": end,
                    "type": n["type"],
                    "lastSeen": _iso(n["lastSeen"]),
                }
                named = {("dataset", a["namespace"], a["name"]): a["outward"] for a in n["aliases"] if a["name"]}
                found.append((neighbour, edge, named))
            hidden = r["total"] - len(r["shown"])
            if hidden > 0:
                collapsed.append({"id": f"more:{side}:{source}", "node": source, "side": side, "count": hidden})
    return found, collapsed


def _with_aliases(
    driver: neo4j.Driver,
    frontier: list[tuple[str, str, str]],
    nodes: dict[str, dict[str, Any]],
    edges: dict[str, dict[str, Any]],
    hop: int,
    side: str,
) -> list[tuple[str, str, str]]:
    """The other names of the frontier's datasets (``ALIAS_OF``: a path and its table, a rename),
    added at the same hop with their edges: one dataset under two names is walked on from both.
    Returns the aliases that were new. (The datasets a step reaches come with theirs: ``_step``.)"""
    keys = [[ns, n] for k, ns, n in frontier if k == "dataset"]
    if not keys:
        return []
    records = driver.execute_query(
        "UNWIND $keys AS key "
        "MATCH (d:Dataset {namespace: key[0], name: key[1]})-[e:ALIAS_OF]-(a:Dataset) "
        "RETURN key, a.namespace AS namespace, a.name AS name, startNode(e) = d AS outward "
        f"LIMIT {MAX_LIMIT}",
        {"keys": keys},
        routing_=neo4j.RoutingControl.READ,
    ).records
    added: list[tuple[str, str, str]] = []
    for r in records:
        source = node_id("dataset", r["key"][0], r["key"][1])
        alias = ("dataset", r["namespace"], r["name"])
        target = node_id(*alias)
        edge = _alias_edge(source, target, r["outward"])
        edges.setdefault(edge["id"], edge)
        if target not in nodes:
            nodes[target] = _node(*alias, hop, side if hop else "center")
            added.append(alias)
    return added


def _alias_edge(source: str, alias: str, outward: bool) -> dict[str, Any]:
    """The ``ALIAS_OF`` edge between a dataset and another name of it, as its direction is stored."""
    start, end = (source, alias) if outward else (alias, source)
    return {"id": f"ALIAS_OF:{start}->{end}", "source": start, "target": end, "type": "ALIAS_OF", "lastSeen": None}


def _node(kind: str, namespace: str, name: str, hops: int | None, side: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": node_id(kind, namespace, name), "kind": kind, "namespace": namespace, "name": name}
    if hops is not None:
        out["hops"] = hops
    out["side"] = side
    return out


def _describe(driver: neo4j.Driver, nodes: list[dict[str, Any]]) -> None:
    """Add the at-a-glance facts: a job's latest run, a dataset's last write (module docs)."""
    read = neo4j.RoutingControl.READ
    jobs = [n for n in nodes if n["kind"] == "job"]
    if jobs:
        records = driver.execute_query(
            "UNWIND $keys AS key "
            "MATCH (j:Job {namespace: key[0], name: key[1]}) "
            "CALL (j) { MATCH (j)-[e:CONSUMES|PRODUCES]->() RETURN e.lastRunId AS runId "
            "  ORDER BY e.lastSeen DESC LIMIT 1 } "
            "OPTIONAL MATCH (r:Run {runId: runId}) "
            "RETURN key, r",
            {"keys": [[n["namespace"], n["name"]] for n in jobs]},
            routing_=read,
        ).records
        latest = {(r["key"][0], r["key"][1]): r["r"] for r in records}
        for n in jobs:
            n["latestRun"] = run_summary(latest.get((n["namespace"], n["name"])))
    datasets = [n for n in nodes if n["kind"] == "dataset"]
    if datasets:
        records = driver.execute_query(
            "UNWIND $keys AS key "
            "MATCH (d:Dataset {namespace: key[0], name: key[1]}) "
            "CALL (d) { OPTIONAL MATCH (d)<-[p:PRODUCES]-() RETURN max(p.lastSeen) AS lastWrittenAt } "
            # The two latest writes that said which schema they wrote: changed if they differ.
            "CALL (d) { OPTIONAL MATCH (d)<-[w:WROTE]-(r:Run) WHERE w.schemaDigest IS NOT NULL "
            "  WITH w, r ORDER BY coalesce(r.endedAt, r.startedAt) DESC LIMIT 2 "
            "  RETURN collect(w.schemaDigest) AS digests } "
            "RETURN key, lastWrittenAt, digests",
            {"keys": [[n["namespace"], n["name"]] for n in datasets]},
            routing_=read,
        ).records
        facts = {(r["key"][0], r["key"][1]): r for r in records}
        for n in datasets:
            fact = facts.get((n["namespace"], n["name"]))
            n["lastWrittenAt"] = _iso(fact["lastWrittenAt"]) if fact else None
            digests = fact["digests"] if fact else []
            n["schemaChanged"] = len(digests) == 2 and digests[0] != digests[1]


def run_summary(run: Any) -> dict[str, Any] | None:
    """A Run node as the explorer shows it at a glance."""
    if run is None:
        return None
    started, ended = run.get("startedAt"), run.get("endedAt")
    duration = None
    if started is not None and ended is not None and hasattr(started, "to_native"):
        duration = (ended.to_native() - started.to_native()).total_seconds()
    return {
        "runId": run["runId"],
        "state": run.get("state"),
        "startedAt": _iso(started),
        "endedAt": _iso(ended),
        "durationSeconds": duration,
        "errorMessage": run.get("errorMessage"),
    }


def column_lineage(driver: neo4j.Driver, namespace: str, name: str, field: str, depth: int = 5) -> dict[str, Any]:
    """The columns one column comes from (``upstream``) and feeds (``downstream``), within ``depth``
    DERIVED_FROM steps, nearest first; each with the transformation of its step next to the
    column asked about's side (``via``: the column at the other end of that step), whether that
    step masks the data, and whether every route masks it (``masked``)."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
    namespace, name = resolve(driver, "dataset", namespace, name)
    require_field(driver, DatasetKey(namespace, name), field)
    out: dict[str, Any] = {"column": {"namespace": namespace, "name": name, "field": field}}
    for side, pattern in (("upstream", "-[:DERIVED_FROM]->"), ("downstream", "<-[:DERIVED_FROM]-")):
        records = driver.execute_query(
            "MATCH (s:Field {namespace: $namespace, name: $name, field: $field}) "
            f"MATCH p = ALL SHORTEST (s){pattern}{{1,{depth}}}(f:Field) "
            "WITH f, length(p) AS hops, nodes(p)[-2] AS via, last(relationships(p)) AS step, "
            "any(r IN relationships(p) WHERE r.masking) AS routeMasked "
            "WITH f, hops, collect(DISTINCT {via: via, step: step}) AS lasts, collect(routeMasked) AS routes "
            "RETURN f, hops, lasts, all(m IN routes WHERE m) AS masked "
            "ORDER BY hops, f.namespace, f.name, f.field LIMIT $most",
            {"namespace": namespace, "name": name, "field": field, "most": MAX_PAGE},
            routing_=neo4j.RoutingControl.READ,
        ).records
        items = []
        for r in records:
            first = min(r["lasts"], key=lambda x: (x["via"]["namespace"], x["via"]["name"], x["via"]["field"]))
            via, step = first["via"], first["step"]
            items.append(
                {
                    "namespace": r["f"]["namespace"],
                    "name": r["f"]["name"],
                    "field": r["f"]["field"],
                    "hops": r["hops"],
                    "via": {"namespace": via["namespace"], "name": via["name"], "field": via["field"]},
                    "types": list(step.get("types") or []),
                    "subtypes": list(step.get("subtypes") or []),
                    "masking": bool(step.get("masking")),
                    "masked": bool(r["masked"]),
                }
            )
        out[side] = items
    return out
