"""Turning a list of mutations into ordered statement batches.

Within a batch the last mutation of a node or relationship wins (they are full-state upserts),
nodes go before relationships, and rows are sorted by key so that concurrent sinks take Neo4j
locks in one order and do not deadlock each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from lineage.graph_model import DATETIME_PROPERTIES
from lineage.mutations import EdgeUpsert, NodeUpsert
from sinks import cypher

Statement = tuple[str, list[dict[str, Any]]]


def plan(mutations: Iterable[NodeUpsert | EdgeUpsert]) -> list[Statement]:
    nodes: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
    edges: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
    for m in mutations:
        if isinstance(m, NodeUpsert):
            nodes.setdefault(m.node.label, {})[m.node.sort_key()] = {
                "key": m.node.key,
                "props": _neo4j_props(m.props),
            }
        else:
            edges.setdefault(m.type, {})[(*m.start.sort_key(), *m.end.sort_key())] = {
                "start": m.start.key,
                "end": m.end.key,
                "props": _neo4j_props(m.props),
            }
    out: list[Statement] = []
    for label in sorted(nodes):
        rows = nodes[label]
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
