"""From a merged run to the graph mutations that make Neo4j show it.

The output is full state: every mutation says what the node or relationship is now, not what
changed, so the sink can write it any number of times.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from lineage.merge import DatasetState, MergedRun, live_facets
from lineage.mutations import EdgeUpsert, NodeRef, NodeUpsert, node, ref

Mutations = list[NodeUpsert | EdgeUpsert]


def run_mutations(run: MergedRun) -> Mutations:
    """Job, Run, datasets, schema fields and parent links of one merged run."""
    run_ref = ref("Run", runId=str(run.run_id))
    job_ref = ref("Job", namespace=run.job_namespace, name=run.job_name)
    run_facets = live_facets(run.run_facets)
    out: Mutations = [
        NodeUpsert(node=job_ref, props=_facet_props(live_facets(run.job_facets))),
        NodeUpsert(node=run_ref, props=_run_props(run, run_facets)),
        EdgeUpsert(type="INSTANCE_OF", start=run_ref, end=job_ref),
    ]
    for relation, datasets in (("READ", run.inputs), ("WROTE", run.outputs)):
        for ds in sorted(datasets.values(), key=lambda d: d.key):
            out.extend(_dataset_mutations(ds))
            out.append(EdgeUpsert(type=relation, start=run_ref, end=_dataset_ref(ds)))
    out.extend(_parent_mutations(run_ref, job_ref, run_facets.get("parent")))
    return out


def _run_props(run: MergedRun, facets: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "state": run.state.value,
        "startedAt": _iso(run.started_at),
        "endedAt": _iso(run.ended_at),
    }
    nominal = facets.get("nominalTime") or {}
    props["nominalStartTime"] = nominal.get("nominalStartTime")
    props["nominalEndTime"] = nominal.get("nominalEndTime")
    error = facets.get("errorMessage") or {}
    props["errorMessage"] = error.get("message")
    props.update(_facet_props(facets))
    return props


def _dataset_ref(ds: DatasetState) -> NodeRef:
    return ref("Dataset", namespace=ds.namespace, name=ds.name)


def _dataset_mutations(ds: DatasetState) -> Mutations:
    facets = live_facets(ds.facets)
    out: Mutations = [NodeUpsert(node=_dataset_ref(ds))]
    schema = facets.get("schema") or {}
    fields = [f for f in schema.get("fields") or [] if isinstance(f, dict) and f.get("name")]
    for field in fields:
        field_node = node(
            "Field",
            {"type": field.get("type"), "description": field.get("description")},
            namespace=ds.namespace,
            name=ds.name,
            field=str(field["name"]),
        )
        out.append(field_node)
        out.append(EdgeUpsert(type="HAS_FIELD", start=_dataset_ref(ds), end=field_node.node))
    return out


def _parent_mutations(run_ref: NodeRef, job_ref: NodeRef, parent: Any) -> Mutations:
    """Link to the parent run and job, creating placeholders if their events are not in yet."""
    if not isinstance(parent, dict):
        return []
    parent_run = (parent.get("run") or {}).get("runId")
    parent_job = parent.get("job") or {}
    out: Mutations = []
    if parent_run:
        parent_ref = ref("Run", runId=str(parent_run))
        out += [NodeUpsert(node=parent_ref), EdgeUpsert(type="CHILD_OF", start=run_ref, end=parent_ref)]
    if parent_job.get("namespace") and parent_job.get("name"):
        pjob = ref("Job", namespace=parent_job["namespace"], name=parent_job["name"])
        if pjob != job_ref:
            out += [NodeUpsert(node=pjob), EdgeUpsert(type="PART_OF", start=job_ref, end=pjob)]
    return out


def _facet_props(facets: dict[str, Any]) -> dict[str, Any]:
    # Neo4j properties cannot hold maps, so facets are kept whole as one JSON string.
    return {"facets": json.dumps(facets, sort_keys=True, default=str)} if facets else {}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
