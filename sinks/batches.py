"""Turning a list of mutations into ordered statement batches.

Within a batch, a node's or relationship's properties are applied in order, as successive
``SET n += props`` would (the last value of each property wins); versioned properties, fields
and derivations merge per name, the greatest stamp winning. Nodes go first, then fields,
relationships, column lineage and the jobs' aggregated edges; rows are sorted by key so that
concurrent sinks take Neo4j locks in one order and do not deadlock each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from lineage.graph_model import DATETIME_PROPERTIES
from lineage.mutations import (
    AnyMutation,
    Derivation,
    FieldsUpsert,
    FieldVersion,
    NodeUpsert,
    UsageUpsert,
    Versioned,
)
from lineage.run_state import state_rank
from sinks import cypher

Statement = tuple[str, list[dict[str, Any]]]


def plan(mutations: Iterable[AnyMutation]) -> list[Statement]:
    nodes: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
    edges: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
    versioned: dict[tuple[str, ...], dict[str, Versioned]] = {}
    fields: dict[tuple[str, ...], dict[str, FieldVersion]] = {}
    derived: dict[tuple[str, ...], Derivation] = {}
    dataset_keys: dict[tuple[str, ...], dict[str, str]] = {}
    usage: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
    for m in mutations:
        if isinstance(m, NodeUpsert):
            key = m.node.sort_key()
            # Sequential `SET n += props` semantics: a later upsert's props win, props it does not
            # mention stay (a parent run's placeholder must not erase the run's own state).
            node_row = nodes.setdefault(m.node.label, {}).setdefault(key, {"key": m.node.key, "props": {}})
            # A run never goes back (lineage.run_state.state_rank): an older view's props are dropped.
            incoming = m.props.get("state")
            if (
                m.node.label != "Run"
                or incoming is None
                or state_rank(incoming) >= state_rank(node_row["props"].get("state"))
            ):
                node_row["props"].update(_neo4j_props(m.props))
            merged = versioned.setdefault(key, {})
            for name, version in m.versioned.items():
                if name not in merged or version.stamp > merged[name].stamp:
                    merged[name] = version
        elif isinstance(m, FieldsUpsert):
            key = m.dataset.sort_key()
            dataset_keys[key] = m.dataset.key
            by_name = fields.setdefault(key, {})
            for f in m.fields:
                if f.name not in by_name or f.stamp > by_name[f.name].stamp:
                    by_name[f.name] = f
            for d in m.derived:
                pair = (*key, d.field, *d.source.sort_key())
                if pair not in derived or d.stamp > derived[pair].stamp:
                    derived[pair] = d
        elif isinstance(m, UsageUpsert):
            # Rows of one edge from several runs: the sink folds them one after the other.
            run_row: dict[str, Any] = {"job": m.job.key, "dataset": m.dataset.key, "runId": m.runId}
            run_row |= _neo4j_props({"firstSeen": m.firstSeen, "lastSeen": m.lastSeen})
            usage.setdefault(m.type, {})[(*m.job.sort_key(), *m.dataset.sort_key(), m.runId)] = run_row
        else:
            edge_row = edges.setdefault(m.type, {}).setdefault(
                (*m.start.sort_key(), *m.end.sort_key()), {"start": m.start.key, "end": m.end.key, "props": {}}
            )
            edge_row["props"].update(_neo4j_props(m.props))
    out: list[Statement] = []
    for label in sorted(nodes):
        rows = nodes[label]
        for key, row in rows.items():
            row["versioned"] = [
                {"name": name, "stamp": v.stamp, "value": v.value} for name, v in sorted(versioned[key].items())
            ]
        out.append((cypher.merge_nodes(label), [rows[k] for k in sorted(rows)]))
    if fields:
        rows_f = [
            {"key": dataset_keys[k], "fields": [f.model_dump() for _, f in sorted(fields[k].items())]}
            for k in sorted(fields)
        ]
        out.append((cypher.merge_fields(), rows_f))
    for rel_type in sorted(edges):
        rows = edges[rel_type]
        out.append((cypher.merge_edges(rel_type), [rows[k] for k in sorted(rows)]))
    if derived:
        rows_d = []
        for pair in sorted(derived):
            d = derived[pair]
            dataset = dataset_keys[pair[:3]]
            rows_d.append(
                {
                    "out": {"namespace": dataset["namespace"], "name": dataset["name"], "field": d.field},
                    "in": d.source.key,
                    "stamp": d.stamp,
                    "props": {
                        "types": d.types,
                        "subtypes": d.subtypes,
                        "masking": d.masking,
                        "transformations": d.transformations,
                    },
                }
            )
        out.append((cypher.merge_derivations(), rows_d))
    # Last: the aggregated edges count the runs' READ/WROTE edges written above.
    for rel_type in sorted(usage):
        rows = usage[rel_type]
        out.append((cypher.merge_usage(rel_type), [rows[k] for k in sorted(rows)]))
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
