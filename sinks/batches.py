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

from pydantic import BaseModel

from lineage.graph_model import DATETIME_PROPERTIES, NODE_KEYS
from lineage.mutations import AnyMutation, MutationDict
from lineage.run_state import state_rank
from sinks import cypher

Statement = tuple[str, list[dict[str, Any]]]


def plan(mutations: Iterable[AnyMutation | MutationDict]) -> list[Statement]:
    """Statements for a batch of mutations, given as models or as the plain JSON objects the sink
    reads (``lineage.mutations.read_change_set``)."""
    nodes: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
    edges: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
    versioned: dict[tuple[str, ...], dict[str, dict[str, Any]]] = {}
    fields: dict[tuple[str, ...], dict[str, dict[str, Any]]] = {}
    derived: dict[tuple[str, ...], dict[str, Any]] = {}
    dataset_keys: dict[tuple[str, ...], dict[str, str]] = {}
    usage: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
    for given in mutations:
        m: Any = given.model_dump() if isinstance(given, BaseModel) else given
        op = m["op"]
        if op == "node":
            ref = m["node"]
            key = _sort_key(ref)
            props = m.get("props") or {}
            # Sequential `SET n += props` semantics: a later upsert's props win, props it does not
            # mention stay (a parent run's placeholder must not erase the run's own state).
            node_row = nodes.setdefault(ref["label"], {}).setdefault(key, {"key": ref["key"], "props": {}})
            # A run never goes back (lineage.run_state.state_rank): an older view's props are dropped.
            incoming = props.get("state")
            if (
                ref["label"] != "Run"
                or incoming is None
                or state_rank(incoming) >= state_rank(node_row["props"].get("state"))
            ):
                node_row["props"].update(_neo4j_props(props))
            merged = versioned.setdefault(key, {})
            for name, version in (m.get("versioned") or {}).items():
                if name not in merged or version["stamp"] > merged[name]["stamp"]:
                    merged[name] = version
        elif op == "fields":
            key = _sort_key(m["dataset"])
            dataset_keys[key] = m["dataset"]["key"]
            by_name = fields.setdefault(key, {})
            for f in m.get("fields") or []:
                if f["name"] not in by_name or f["stamp"] > by_name[f["name"]]["stamp"]:
                    by_name[f["name"]] = f
            for d in m.get("derived") or []:
                pair = (*key, d["field"], *_sort_key(d["source"]))
                if pair not in derived or d["stamp"] > derived[pair]["stamp"]:
                    derived[pair] = d
        elif op == "usage":
            # Rows of one edge from several runs: the sink folds them one after the other.
            job, dataset = m["job"], m["dataset"]
            run_row: dict[str, Any] = {"job": job["key"], "dataset": dataset["key"], "runId": m["runId"]}
            run_row |= _neo4j_props({"firstSeen": m["firstSeen"], "lastSeen": m["lastSeen"]})
            usage.setdefault(m["type"], {})[(*_sort_key(job), *_sort_key(dataset), m["runId"])] = run_row
        else:
            start, end = m["start"], m["end"]
            edge_row = edges.setdefault(m["type"], {}).setdefault(
                (*_sort_key(start), *_sort_key(end)), {"start": start["key"], "end": end["key"], "props": {}}
            )
            edge_row["props"].update(_neo4j_props(m.get("props") or {}))
    out: list[Statement] = []
    for label in sorted(nodes):
        rows = nodes[label]
        for key, row in rows.items():
            row["versioned"] = [
                {"name": name, "stamp": v["stamp"], "value": v.get("value")}
                for name, v in sorted(versioned[key].items())
            ]
        out.append((cypher.merge_nodes(label), [rows[k] for k in sorted(rows)]))
    if fields:
        rows_f = [
            {
                "key": dataset_keys[k],
                "fields": [
                    {"name": f["name"], "stamp": f["stamp"], "type": f.get("type"), "description": f.get("description")}
                    for _, f in sorted(fields[k].items())
                ],
            }
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
                    "out": {"namespace": dataset["namespace"], "name": dataset["name"], "field": d["field"]},
                    "in": d["source"]["key"],
                    "stamp": d["stamp"],
                    "props": {
                        "types": d.get("types", []),
                        "subtypes": d.get("subtypes", []),
                        "masking": d.get("masking", False),
                        "transformations": d.get("transformations", "[]"),
                    },
                }
            )
        out.append((cypher.merge_derivations(), rows_d))
    # Last: the aggregated edges count the runs' READ/WROTE edges written above.
    for rel_type in sorted(usage):
        rows = usage[rel_type]
        out.append((cypher.merge_usage(rel_type), [rows[k] for k in sorted(rows)]))
    return out


def _sort_key(ref: Any) -> tuple[str, ...]:
    """A node reference's key in the graph model's order (``lineage.mutations.NodeRef.sort_key``)."""
    key = ref["key"]
    return (ref["label"], *(key[k] for k in NODE_KEYS[ref["label"]]))


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
