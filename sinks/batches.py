"""Turning a list of mutations into ordered statement batches.

Within a batch the last mutation of a node or relationship wins for its properties (they are
full-state upserts) and versioned properties merge per name, the greatest stamp winning; nodes go before
relationships, and rows are sorted by key so that concurrent sinks take Neo4j
locks in one order and do not deadlock each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from lineage.graph_model import DATETIME_PROPERTIES
from lineage.mutations import EdgeUpsert, NodeUpsert, Versioned
from sinks import cypher

Statement = tuple[str, list[dict[str, Any]]]


def plan(mutations: Iterable[NodeUpsert | EdgeUpsert]) -> list[Statement]:
    nodes: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
    edges: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
    versioned: dict[tuple[str, ...], dict[str, Versioned]] = {}
    for m in mutations:
        if isinstance(m, NodeUpsert):
            key = m.node.sort_key()
            nodes.setdefault(m.node.label, {})[key] = {"key": m.node.key, "props": _neo4j_props(m.props)}
            merged = versioned.setdefault(key, {})
            for name, version in m.versioned.items():
                if name not in merged or version.stamp > merged[name].stamp:
                    merged[name] = version
        else:
            edges.setdefault(m.type, {})[(*m.start.sort_key(), *m.end.sort_key())] = {
                "start": m.start.key,
                "end": m.end.key,
                "props": _neo4j_props(m.props),
            }
    out: list[Statement] = []
    for label in sorted(nodes):
        rows = nodes[label]
        for key, row in rows.items():
            row["versioned"] = [
                {"name": name, "stamp": v.stamp, "value": v.value} for name, v in sorted(versioned[key].items())
            ]
        out.append((cypher.merge_nodes(label), [rows[k] for k in sorted(rows)]))
    for rel_type in sorted(edges):
        rows = edges[rel_type]
        out.append((cypher.merge_edges(rel_type), [rows[k] for k in sorted(rows)]))
    return out


def _neo4j_props(props: dict[str, Any]) -> dict[str, Any]:
    if not DATETIME_PROPERTIES.intersection(props):
        return dict(props)
    out = dict(props)
    for name in DATETIME_PROPERTIES.intersection(props):
        value = out[name]
        if isinstance(value, str):
            # A value that does not parse is kept as the producer's string rather than lost.
            with contextlib.suppress(ValueError):
                out[name] = datetime.fromisoformat(value)
    return out
