"""From a merged run to the graph mutations that make Neo4j show it.

The output is full state: every mutation says what the node or relationship is now, not what
changed, so the sink can write it any number of times.

Facets travel stamped (``Versioned``): many runs and static events describe one job or
dataset, and the sink keeps per facet the version with the latest eventTime, whatever order the
runs are processed in. Facets are producer data: a known facet with an unexpected shape (a string
where an object belongs, say) contributes nothing to the typed properties instead of failing the
run; it is still kept whole as a ``facet_<name>`` property.

The mapping builds each mutation as the plain JSON object it is on the graph topic
(``lineage.mutations``, field for field) and encodes it with orjson: building and checking
pydantic models here cost the processor more than everything else it does per event. The typed
forms (``run_mutations`` and the others) validate those objects against the graph model; the
tests hold every mapping to them, and the sink validates what it decodes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

import orjson

from lineage.events import DatasetEvent, JobEvent
from lineage.graph_model import FACET_PREFIX, RelType
from lineage.merge import DatasetState, FacetMap, MergedRun, live_facets, stamp_facets, stamped_datasets
from lineage.mutations import AnyMutation, decode_mutation
from lineage.naming import run_key

Mutations = list[AnyMutation]
# A mutation as the JSON object the graph topic carries (``lineage.mutations``).
Mutation = dict[str, Any]


def run_mutations(run: MergedRun, before: MergedRun | None = None) -> Mutations:
    """Job, Run, datasets, schema fields and parent links of one merged run (``encoded_run_mutations``)."""
    return typed(encoded_run_mutations(run, before))


def dataset_event_mutations(event: DatasetEvent) -> Mutations:
    """A DatasetEvent's mutations (``encoded_dataset_event_mutations``)."""
    return typed(encoded_dataset_event_mutations(event))


def job_event_mutations(event: JobEvent) -> Mutations:
    """A JobEvent's mutations (``encoded_job_event_mutations``)."""
    return typed(encoded_job_event_mutations(event))


def typed(encoded: list[bytes]) -> Mutations:
    """Encoded mutations as their models, checked against the graph model."""
    return [decode_mutation(m) for m in encoded]


def encode(mutations: list[Mutation]) -> list[bytes]:
    return [orjson.dumps(m) for m in mutations]


def encoded_run_mutations(run: MergedRun, before: MergedRun | None = None) -> list[bytes]:
    """Job, Run, datasets, schema fields and parent links of one merged run, encoded.

    With ``before`` (an earlier state of the same run), only what differs from what ``before``
    maps to: the change-only output. A dataset whose state and edge did not change is skipped
    without being mapped, which is most of the work for a run with wide schemas.
    """
    head = encode(_head_mutations(run))
    if before is None:
        out = head
    else:
        old_head = set(encode(_head_mutations(before)))
        out = [m for m in head if m not in old_head]
    return out + encode(_io_mutations(run, before))


def _io_mutations(run: MergedRun, before: MergedRun | None) -> list[Mutation]:
    """The run's inputs and outputs: datasets, READ/WROTE edges, the job's aggregated edges."""
    out: list[Mutation] = []
    run_ref = ref("Run", runId=str(run.run_id))
    job_ref = ref("Job", namespace=run.job_namespace, name=run.job_name)
    provisional = _provisional(run)
    window = _seen_window(run)
    window_changed = before is None or _seen_window(before) != window
    relations: tuple[
        tuple[RelType, Literal["CONSUMES", "PRODUCES"], dict[str, DatasetState], dict[str, DatasetState]], ...
    ] = (
        ("READ", "CONSUMES", run.inputs, before.inputs if before else {}),
        ("WROTE", "PRODUCES", run.outputs, before.outputs if before else {}),
    )
    old_provisional = _provisional(before) if before else provisional
    for relation, usage, datasets, old_datasets in relations:
        for ident, ds in sorted(datasets.items(), key=lambda item: item[1].key):
            old = old_datasets.get(ident)
            dataset_changed = old != ds
            if dataset_changed:
                out.extend(_dataset_mutations(ds))
            props = _edge_props(relation, ds, provisional)
            edge_changed = (
                old is None
                or old_provisional != provisional
                or (dataset_changed and _edge_props(relation, old, provisional) != props)
            )
            if edge_changed:
                out.append(edge(relation, run_ref, _dataset_ref(ds), props))
            # The job's aggregated edge: whenever this run's edge or its time window changed.
            if window is not None and (edge_changed or window_changed):
                first, last = window
                out.append(
                    {
                        "op": "usage",
                        "type": usage,
                        "job": job_ref,
                        "dataset": _dataset_ref(ds),
                        "runId": str(run.run_id),
                        "firstSeen": first,
                        "lastSeen": last,
                    }
                )
    return out


def ref(label: str, **key: str) -> Mutation:
    """A node reference (``lineage.mutations.NodeRef``)."""
    return {"label": label, "key": key}


def node(this: Mutation, props: dict[str, Any] | None = None, versioned: dict[str, Mutation] | None = None) -> Mutation:
    """A node upsert (``lineage.mutations.NodeUpsert``)."""
    return {"op": "node", "node": this, "props": props or {}, "versioned": versioned or {}}


def edge(rel_type: RelType, start: Mutation, end: Mutation, props: dict[str, Any] | None = None) -> Mutation:
    """A relationship upsert (``lineage.mutations.EdgeUpsert``)."""
    return {"op": "edge", "type": rel_type, "start": start, "end": end, "props": props or {}}


def _edge_props(relation: RelType, ds: DatasetState, provisional: bool) -> dict[str, Any]:
    """A READ or WROTE edge's properties. WROTE also says which schema the run wrote
    (``schemaDigest``, None without a schema facet; ``schemaColumns``, the same columns for
    people to read), when (``schemaAt``), and any
    ``lifecycleStateChange`` it declared: what root cause compares to find the upstream runs
    that changed a schema."""
    props: dict[str, Any] = {"provisional": provisional}
    if relation == "WROTE":
        schema, change = ds.facets.get("schema"), ds.facets.get("lifecycleStateChange")
        props["schemaDigest"] = schema_digest(schema.value) if schema else None
        props["schemaColumns"] = schema_columns(schema.value) if schema else None
        # The event time of the schema version shown. Besides telling when, it keeps the edge's
        # bytes distinct when a run's schema goes A, B, then A again: the processor skips any
        # upsert it sent before byte for byte, and the last A must not be taken for the first.
        props["schemaAt"] = _iso(schema.time) if schema else None
        props["lifecycleStateChange"] = _as_str(_as_dict(change.value).get("lifecycleStateChange")) if change else None
    return props


def schema_digest(schema: Any) -> str | None:
    """A short digest of a schema facet's columns: names, types and nested fields, in order.

    Descriptions do not count; two schemas with the same digest have the same columns.
    """
    fields = _as_dict(schema).get("fields")
    if not isinstance(fields, list):
        return None
    text = json.dumps(_shape(fields), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def schema_columns(schema: Any) -> list[str] | None:
    """A schema facet's columns as people read them, in order: ``name: type`` (``name`` when the
    type is not given), nested fields as ``parent.child: type``."""
    fields = _as_dict(schema).get("fields")
    if not isinstance(fields, list):
        return None
    out: list[str] = []

    def walk(listed: list[Any], prefix: str) -> None:
        for f in listed:
            if not isinstance(f, dict) or _as_str(f.get("name")) is None:
                continue
            name, kind = prefix + str(_as_str(f.get("name"))), _as_str(f.get("type"))
            out.append(f"{name}: {kind}" if kind else name)
            if isinstance(f.get("fields"), list):
                walk(f["fields"], name + ".")

    walk(fields, "")
    return out or None


def _shape(fields: list[Any]) -> list[Any]:
    return [
        [f.get("name"), f.get("type"), _shape(f["fields"]) if isinstance(f.get("fields"), list) else []]
        for f in fields
        if isinstance(f, dict)
    ]


def _seen_window(run: MergedRun) -> tuple[str, str] | None:
    """The run's earliest and latest event times: they only widen as events arrive, so the
    aggregated edges' min/max end where full state would put them, whatever the order."""
    if run.first_event_at is None or run.last_event_at is None:
        return None  # a state stored before these were kept: its next event fills them
    return _iso(run.first_event_at) or "", _iso(run.last_event_at) or ""


def _head_mutations(run: MergedRun) -> list[Mutation]:
    """The run's own node, its job, and the links to its job and parents."""
    run_ref = ref("Run", runId=str(run.run_id))
    job_ref = ref("Job", namespace=run.job_namespace, name=run.job_name)
    run_facets = live_facets(run.run_facets)
    return [
        node(job_ref, versioned=facet_versions(run.job_facets)),
        node(run_ref, _run_props(run, run_facets), facet_versions(run.run_facets)),
        edge("INSTANCE_OF", run_ref, job_ref),
        *_parent_mutations(run_ref, job_ref, run_facets.get("parent")),
    ]


def _provisional(run: MergedRun) -> bool:
    # Lineage shows at once, on START/RUNNING; for a batch job it is provisional until the run
    # ends (its inputs and outputs may still grow). A streaming job's edges never wait.
    return not run.state.is_done() and not _is_streaming(live_facets(run.job_facets))


def _is_streaming(job_facets: dict[str, Any]) -> bool:
    processing = _as_str(_as_dict(job_facets.get("jobType")).get("processingType"))
    return (processing or "").upper() == "STREAMING"


def encoded_dataset_event_mutations(event: DatasetEvent) -> list[bytes]:
    """A DatasetEvent: the dataset's facets and schema fields, outside any run."""
    (ds,) = stamped_datasets([event.dataset], (event.eventTime, 0)).values()
    return encode(_dataset_mutations(ds))


def encoded_job_event_mutations(event: JobEvent) -> list[bytes]:
    """A JobEvent: the job's facets and its declared inputs (CONSUMES) and outputs (PRODUCES)."""
    job_ref = ref("Job", namespace=event.job.namespace, name=event.job.name)
    stamp = (event.eventTime, 0)
    out: list[Mutation] = [node(job_ref, versioned=facet_versions(stamp_facets(event.job.facets, stamp)))]
    relations: tuple[tuple[RelType, dict[str, DatasetState]], ...] = (
        ("CONSUMES", stamped_datasets(event.inputs, stamp)),
        ("PRODUCES", stamped_datasets(event.outputs, stamp)),
    )
    for relation, datasets in relations:
        for ds in sorted(datasets.values(), key=lambda d: d.key):
            out.extend(_dataset_mutations(ds))
            out.append(edge(relation, job_ref, _dataset_ref(ds)))
    return encode(out)


def _run_props(run: MergedRun, facets: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "state": run.state.value,
        "startedAt": _iso(run.started_at),
        "endedAt": _iso(run.ended_at),
    }
    nominal = _as_dict(facets.get("nominalTime"))
    props["nominalStartTime"] = _as_str(nominal.get("nominalStartTime"))
    props["nominalEndTime"] = _as_str(nominal.get("nominalEndTime"))
    props["errorMessage"] = _as_str(_as_dict(facets.get("errorMessage")).get("message"))
    if run.sent_run_id is not None:
        props["sentRunId"] = run.sent_run_id
    return props


def _dataset_ref(ds: DatasetState) -> Mutation:
    return ref("Dataset", namespace=ds.namespace, name=ds.name)


def _dataset_mutations(ds: DatasetState) -> list[Mutation]:
    this = _dataset_ref(ds)
    out: list[Mutation] = [node(this, versioned=facet_versions(ds.facets))]
    # Every field a schema version listed, typed as the latest version that listed it says, and
    # every column-lineage pair, with its latest transformations. Both accumulate (a field a
    # later schema no longer lists is kept, like a run's inputs). One mutation for all of them.
    if ds.fields or ds.lineage:
        out.append({"op": "fields", "dataset": this, "fields": _field_versions(ds), "derived": _derivations(ds)})
    # ALIAS_OF edges from symlinks and RENAMEs (``naming.declared_aliases``); they only
    # accumulate, so an alias that arrives late still joins the two identities.
    for alias_ns, alias_name, canonical_ns, canonical_name in ds.aliases:
        alias = ref("Dataset", namespace=alias_ns, name=alias_name)
        canonical = ref("Dataset", namespace=canonical_ns, name=canonical_name)
        other = canonical if alias == this else alias
        out += [node(other), edge("ALIAS_OF", alias, canonical)]
    return out


def _field_versions(ds: DatasetState) -> list[Mutation]:
    return [
        {
            "name": name,
            "stamp": f.stamp,
            "type": (f.value or {}).get("type"),
            "description": (f.value or {}).get("description"),
        }
        for name, f in sorted(ds.fields.items())
    ]


def _derivations(ds: DatasetState) -> list[Mutation]:
    out = []
    for _, pair in sorted(ds.lineage.items()):
        value = pair.value or {}
        namespace, name, field = value["source"]
        transformations = value["transformations"]
        out.append(
            {
                "field": value["field"],
                "source": ref("Field", namespace=namespace, name=name, field=field),
                "stamp": pair.stamp,
                "types": sorted({t["type"] for t in transformations if isinstance(t.get("type"), str)}),
                "subtypes": sorted({t["subtype"] for t in transformations if isinstance(t.get("subtype"), str)}),
                "masking": any(t.get("masking") is True for t in transformations),
                "transformations": json.dumps(transformations, sort_keys=True, ensure_ascii=False),
            }
        )
    return out


def _parent_mutations(run_ref: Mutation, job_ref: Mutation, parent: Any) -> list[Mutation]:
    """Link to the parent run and job, creating placeholders if their events are not in yet."""
    parent = _as_dict(parent)
    parent_run = _as_uuid(_as_dict(parent.get("run")).get("runId"))
    parent_job = _as_dict(parent.get("job"))
    job_ns, job_name = _as_str(parent_job.get("namespace")), _as_str(parent_job.get("name"))
    out: list[Mutation] = []
    if parent_run and parent_run != run_ref["key"]["runId"]:  # a run is not its own parent
        parent_ref = ref("Run", runId=parent_run)
        out += [node(parent_ref), edge("CHILD_OF", run_ref, parent_ref)]
    if job_ns and job_name:
        pjob = ref("Job", namespace=job_ns, name=job_name)
        if pjob != job_ref:
            out += [node(pjob), edge("PART_OF", job_ref, pjob)]
    return out


def facet_versions(facets: FacetMap) -> dict[str, Mutation]:
    """Stamped facets as the sink merges them (``lineage.mutations.Versioned``); a tombstone
    travels too, so it can win."""
    return {FACET_PREFIX + name: {"stamp": f.stamp, "value": f.value_json} for name, f in sorted(facets.items())}


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_str(value: Any) -> str | None:
    """Scalars as text (a numeric type name is still a name); objects and lists are not text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _as_uuid(value: Any) -> str | None:
    """A runId in the form the run's own events are keyed by (lineage.naming.run_key)."""
    return str(run_key(value)) if isinstance(value, str) and value.strip() else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
