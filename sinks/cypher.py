"""Constant-shape, parameterised Cypher built from the graph model.

One statement per node label and per relationship type; the rows vary, the text does not, so
Neo4j plans each statement once. Labels, types and key names come only from
``lineage.graph_model``, never from message content.
"""

from __future__ import annotations

from functools import cache

from lineage.graph_model import NODE_KEYS, RELATIONSHIPS, STAMP_PREFIX


def _key_map(var: str, label: str) -> str:
    return "{" + ", ".join(f"{k}: {var}.{k}" for k in NODE_KEYS[label]) + "}"


@cache
def merge_nodes(label: str) -> str:
    """Rows: ``{"key": {...}, "props": {...}, "versioned": [{"name", "stamp", "value"}, ...]}``.

    ``props`` are set as they are. A versioned property is written with its stamp in
    ``_stamp_<name>``, and only if that stamp is greater than the stored one, so the result is
    the same whatever order the versions arrive in. ``_lock`` takes the node's write lock before
    the stamps are read, so two sinks cannot interleave on one node.
    """
    return (
        f"UNWIND $rows AS row "
        f"MERGE (n:{label} {_key_map('row.key', label)}) "
        f"SET n += row.props, n._lock = true "
        f"REMOVE n._lock "
        f"WITH n, [v IN row.versioned WHERE coalesce(n['{STAMP_PREFIX}' + v.name], '') < v.stamp] AS newer "
        f"FOREACH (v IN newer | SET n[v.name] = v.value, n['{STAMP_PREFIX}' + v.name] = v.stamp)"
    )


@cache
def merge_edges(rel_type: str) -> str:
    """Rows: ``{"start": {...}, "end": {...}, "props": {...}}``; endpoints are merged too."""
    start, end = RELATIONSHIPS[rel_type]
    return (
        f"UNWIND $rows AS row "
        f"MERGE (a:{start} {_key_map('row.start', start)}) "
        f"MERGE (b:{end} {_key_map('row.end', end)}) "
        f"MERGE (a)-[r:{rel_type}]->(b) "
        f"SET r += row.props"
    )


def schema_statements() -> list[tuple[str, str]]:
    """(name, statement): a uniqueness constraint on every MERGE key; each backs an index."""
    out = []
    for label, keys in NODE_KEYS.items():
        props = ", ".join(f"n.{k}" for k in keys)
        name = f"{label.lower()}_key"
        out.append((name, f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE ({props}) IS UNIQUE"))
    return out
