"""Constant-shape, parameterised Cypher built from the graph model.

One statement per node label and per relationship type; the rows vary, the text does not, so
Neo4j plans each statement once. Labels, types and key names come only from
``lineage.graph_model``, never from message content.
"""

from __future__ import annotations

from functools import cache

from lineage.graph_model import (
    NAME_SEARCH_INDEXES,
    NODE_KEYS,
    RELATIONSHIPS,
    SEARCH_ANALYZER,
    SEARCH_INDEXES,
    STAMP_PREFIX,
)
from lineage.run_state import DONE_RANK, STATE_RANKS


def _key_map(var: str, label: str) -> str:
    return "{" + ", ".join(f"{k}: {var}.{k}" for k in NODE_KEYS[label]) + "}"


def _state_rank(expr: str) -> str:
    """Cypher for ``lineage.run_state.state_rank`` of ``expr`` (-1 for null or unknown)."""
    cases = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in STATE_RANKS.items())
    return f"CASE {expr} {cases} ELSE -1 END"


@cache
def merge_nodes(label: str) -> str:
    """Rows: ``{"key": {...}, "props": {...}, "versioned": [{"name", "stamp", "value"}, ...]}``.

    ``props`` are set as they are, except on a Run whose stored ``state`` ranks above the
    row's (``lineage.run_state.state_rank``): an older view of the run, left out. A versioned
    property is written with its stamp in
    ``_stamp_<name>``, and only if that stamp is greater than the stored one, so the result is
    the same whatever order the versions arrive in. ``_lock`` takes the node's write lock before
    the stamps are read, so two sinks cannot interleave on one node.
    """
    if label == "Run":
        # A run never goes back: props of a state below the stored one are an older view.
        set_props = (
            f"SET n._lock = true REMOVE n._lock "
            f"FOREACH (_ IN CASE WHEN row.props.state IS NULL "
            f"OR {_state_rank('row.props.state')} >= {_state_rank('n.state')} THEN [1] ELSE [] END | "
            f"SET n += row.props) "
        )
    else:
        set_props = "SET n += row.props, n._lock = true REMOVE n._lock "
    return (
        f"UNWIND $rows AS row "
        f"MERGE (n:{label} {_key_map('row.key', label)}) "
        f"{set_props}"
        f"WITH n, [v IN row.versioned WHERE coalesce(n['{STAMP_PREFIX}' + v.name], '') < v.stamp] AS newer "
        f"FOREACH (v IN newer | SET n[v.name] = v.value, n['{STAMP_PREFIX}' + v.name] = v.stamp)"
    )


@cache
def merge_edges(rel_type: str) -> str:
    """Rows: ``{"start": {...}, "end": {...}, "props": {...}}``; endpoints are merged too.

    A run's READ and WROTE edges are never provisional once the run in the graph has ended
    (nodes are written before edges, so this sees the batch's state), whatever an older view of
    the run re-sent says."""
    start, end = RELATIONSHIPS[rel_type]
    settled = ""
    if rel_type in ("READ", "WROTE"):
        ended = ", ".join(f"'{name}'" for name, rank in STATE_RANKS.items() if rank >= DONE_RANK)
        settled = f" FOREACH (_ IN CASE WHEN a.state IN [{ended}] THEN [1] ELSE [] END | SET r.provisional = false)"
    return (
        f"UNWIND $rows AS row "
        f"MERGE (a:{start} {_key_map('row.start', start)}) "
        f"MERGE (b:{end} {_key_map('row.end', end)}) "
        f"MERGE (a)-[r:{rel_type}]->(b) "
        f"SET r += row.props{settled}"
    )


@cache
def merge_fields() -> str:
    """Rows: ``{"key": {dataset key}, "fields": [{"name", "stamp", "type", "description"}, ...]}``.

    Each field is merged with its ``HAS_FIELD`` edge; its type and description are written only
    if the stamp is greater than the stored ``_stamp_type`` (the field's write lock is taken
    first), so the latest schema version wins whatever the order.
    """
    field_key = "{namespace: row.key.namespace, name: row.key.name, field: f.name}"
    return (
        "UNWIND $rows AS row "
        "MERGE (d:Dataset {namespace: row.key.namespace, name: row.key.name}) "
        "WITH d, row UNWIND row.fields AS f "
        f"MERGE (x:Field {field_key}) "
        "MERGE (d)-[:HAS_FIELD]->(x) "
        "SET x._lock = true REMOVE x._lock "
        f"FOREACH (_ IN CASE WHEN coalesce(x.{STAMP_PREFIX}type, '') < f.stamp THEN [1] ELSE [] END | "
        f"SET x.type = f.type, x.description = f.description, "
        f"x.{STAMP_PREFIX}type = f.stamp, x.{STAMP_PREFIX}description = f.stamp)"
    )


@cache
def merge_derivations() -> str:
    """Rows: ``{"out": {field key}, "in": {field key}, "stamp", "props": {...}}``.

    ``(out)-[:DERIVED_FROM]->(in)``; both fields are attached to their datasets (a field named
    only by column lineage exists too). The
    transformation properties keep the version with the greatest stamp (``_stamp``).
    """
    out_key = "{namespace: row.out.namespace, name: row.out.name, field: row.out.field}"
    in_key = "{namespace: row.in.namespace, name: row.in.name, field: row.in.field}"
    return (
        "UNWIND $rows AS row "
        f"MERGE (o:Field {out_key}) "
        f"MERGE (i:Field {in_key}) "
        "MERGE (t:Dataset {namespace: row.out.namespace, name: row.out.name}) "
        "MERGE (s:Dataset {namespace: row.in.namespace, name: row.in.name}) "
        "MERGE (t)-[:HAS_FIELD]->(o) "
        "MERGE (s)-[:HAS_FIELD]->(i) "
        "MERGE (o)-[r:DERIVED_FROM]->(i) "
        "SET r._lock = true REMOVE r._lock "
        f"FOREACH (_ IN CASE WHEN coalesce(r.{STAMP_PREFIX[:-1]}, '') < row.stamp THEN [1] ELSE [] END | "
        f"SET r += row.props, r.{STAMP_PREFIX[:-1]} = row.stamp)"
    )


@cache
def merge_usage(rel_type: str) -> str:
    """Rows: ``{"job": {...}, "dataset": {...}, "runId", "firstSeen", "lastSeen"}``, one per run.

    ``(:Job)-[:CONSUMES|PRODUCES]->(:Dataset)`` aggregated over runs: the earliest firstSeen,
    the latest lastSeen and the run it came from (ties: the greater runId), and ``runCount``, the
    job's runs that READ (WROTE) the dataset.

    ``runCount`` is kept incrementally, so a write costs the same however many runs the job has
    had: a row adds one when its run's READ/WROTE edge is not yet counted, and marks the edge
    (``_counted``). An edge that has no count kept this way yet (``_counting``: new, or counted
    by an older version that recounted the runs on every write) is counted from the graph once.
    Both happen after the edge's lock is taken, so concurrent sinks cannot count a run twice.
    """
    run_rel = {"CONSUMES": "READ", "PRODUCES": "WROTE"}[rel_type]
    return (
        "UNWIND $rows AS row "
        "MERGE (j:Job {namespace: row.job.namespace, name: row.job.name}) "
        "MERGE (d:Dataset {namespace: row.dataset.namespace, name: row.dataset.name}) "
        f"MERGE (j)-[c:{rel_type}]->(d) "
        "SET c._lock = true REMOVE c._lock "
        "SET c.lastRunId = CASE WHEN c.lastSeen IS NULL OR row.lastSeen > c.lastSeen "
        "OR (row.lastSeen = c.lastSeen AND row.runId > c.lastRunId) THEN row.runId ELSE c.lastRunId END, "
        "c.firstSeen = CASE WHEN c.firstSeen IS NULL OR row.firstSeen < c.firstSeen "
        "THEN row.firstSeen ELSE c.firstSeen END, "
        "c.lastSeen = CASE WHEN c.lastSeen IS NULL OR row.lastSeen > c.lastSeen "
        "THEN row.lastSeen ELSE c.lastSeen END "
        "WITH j, d, c, row "
        "CALL { WITH j, d, c WITH j, d, c WHERE c._counting IS NULL "
        f"OPTIONAL MATCH (j)<-[:INSTANCE_OF]-(:Run)-[e:{run_rel}]->(d) "
        "WITH c, collect(e) AS edges "
        "FOREACH (e IN edges | SET e._counted = true) "
        "SET c.runCount = size(edges), c._counting = true } "
        # The run first, by its key, then its edge: never the dataset's edges from every run.
        "OPTIONAL MATCH (r:Run {runId: row.runId}) "
        "WITH d, c, r "
        f"OPTIONAL MATCH (r)-[e:{run_rel}]->(d) "
        "FOREACH (_ IN CASE WHEN e IS NOT NULL AND e._counted IS NULL THEN [1] ELSE [] END | "
        "SET e._counted = true, c.runCount = c.runCount + 1)"
    )


# Range indexes for lookups by something other than a full key: a job or dataset by its name
# alone (people often know a table's name, not its namespace), runs by state.
LOOKUP_INDEXES = {"job_name": ("Job", "name"), "dataset_name": ("Dataset", "name"), "run_state": ("Run", "state")}


def schema_statements() -> list[tuple[str, str]]:
    """(name, statement): a uniqueness constraint on every MERGE key (each backs an index), then
    the lookup indexes."""
    out = []
    for label, keys in NODE_KEYS.items():
        props = ", ".join(f"n.{k}" for k in keys)
        name = f"{label.lower()}_key"
        out.append((name, f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE ({props}) IS UNIQUE"))
    for name, (label, prop) in LOOKUP_INDEXES.items():
        out.append((name, f"CREATE INDEX {name} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"))
    for label, name in NAME_SEARCH_INDEXES.items():
        out.append(
            (
                name,
                f"CREATE FULLTEXT INDEX {name} IF NOT EXISTS FOR (n:{label}) ON EACH [n.namespace, n.name] "
                "OPTIONS {indexConfig: {`fulltext.analyzer`: 'simple'}}",
            )
        )
    for label, (name, prop) in SEARCH_INDEXES.items():
        out.append(
            (
                name,
                f"CREATE FULLTEXT INDEX {name} IF NOT EXISTS FOR (n:{label}) ON EACH [n.{prop}] "
                f"OPTIONS {{indexConfig: {{`fulltext.analyzer`: '{SEARCH_ANALYZER}'}}}}",
            )
        )
    return out
