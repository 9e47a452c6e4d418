"""An in-memory graph with the sink's write semantics (sinks.cypher), for pure tests, less the
sink's guards against an older view of a run (a Run's state never going back, READ and WROTE not
provisional once it ended), which only matter when a processor re-sends one.

Node ``props`` are set as given (None removes); a versioned property is written only if its
stamp is greater than the stored one; edges are merged on (type, start, end), props set. A
FieldsUpsert is read as what it stands for (``expand``): a Field node per field with versioned
type and description, HAS_FIELD edges, and DERIVED_FROM edges whose properties are versioned.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lineage.mutations import AnyMutation, EdgeUpsert, FieldsUpsert, NodeUpsert, UsageUpsert, Versioned, ref


class FakeGraph:
    def __init__(self) -> None:
        self.nodes: dict[tuple[str, ...], dict[str, Any]] = {}
        self.stamps: dict[tuple[str, ...], dict[str, str]] = {}
        self.edges: dict[tuple[Any, ...], dict[str, Any]] = {}

    def write(self, mutations: Iterable[AnyMutation]) -> None:
        for m in expand(mutations):
            if isinstance(m, UsageUpsert):
                self._usage(m)
            elif isinstance(m, NodeUpsert):
                self._node(m.node.sort_key(), m.props, m)
            else:
                self._node(m.start.sort_key(), {}, None)
                self._node(m.end.sort_key(), {}, None)
                key = (m.type, m.start.sort_key(), m.end.sort_key())
                edge = self.edges.setdefault(key, {})
                if m.type == "DERIVED_FROM":  # versioned as a whole
                    stamp = m.props["_stamp"]
                    if isinstance(stamp, str) and stamp > edge.get("_stamp", ""):
                        _set(edge, m.props)
                else:
                    _set(edge, m.props)

    def _usage(self, m: UsageUpsert) -> None:
        job, dataset = m.job.sort_key(), m.dataset.sort_key()
        self._node(job, {}, None)
        self._node(dataset, {}, None)
        edge = self.edges.setdefault((m.type, job, dataset), {})
        if "lastSeen" not in edge or (m.lastSeen, m.runId) > (edge["lastSeen"], edge["lastRunId"]):
            edge["lastSeen"], edge["lastRunId"] = m.lastSeen, m.runId
        edge["firstSeen"] = min(edge.get("firstSeen", m.firstSeen), m.firstSeen)
        run_rel = {"CONSUMES": "READ", "PRODUCES": "WROTE"}[m.type]
        runs = {start for (t, start, end) in self.edges if t == "INSTANCE_OF" and end == job}
        edge["runCount"] = sum(1 for (t, start, end) in self.edges if t == run_rel and start in runs and end == dataset)

    def _node(self, key: tuple[str, ...], props: dict[str, Any], upsert: NodeUpsert | None) -> None:
        node = self.nodes.setdefault(key, {})
        stamps = self.stamps.setdefault(key, {})
        _set(node, props)
        for name, version in (upsert.versioned if upsert else {}).items():
            if version.stamp > stamps.get(name, ""):
                stamps[name] = version.stamp
                _set(node, {name: version.value})

    def snapshot(self) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
        return self.nodes, self.stamps, self.edges


def _set(target: dict[str, Any], props: dict[str, Any]) -> None:
    for name, value in props.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value


def expand(mutations: Iterable[AnyMutation]) -> list[NodeUpsert | EdgeUpsert | UsageUpsert]:
    """FieldsUpserts as the node and edge upserts they stand for; the rest as they are."""
    out: list[NodeUpsert | EdgeUpsert | UsageUpsert] = []
    for m in mutations:
        if not isinstance(m, FieldsUpsert):
            out.append(m)
            continue
        ns, name = m.dataset.key["namespace"], m.dataset.key["name"]
        for f in m.fields:
            field = ref("Field", namespace=ns, name=name, field=f.name)
            versioned = {p: Versioned(stamp=f.stamp, value=getattr(f, p)) for p in ("type", "description")}
            out += [
                NodeUpsert(node=field, versioned=versioned),
                EdgeUpsert(type="HAS_FIELD", start=m.dataset, end=field),
            ]
        for d in m.derived:
            field = ref("Field", namespace=ns, name=name, field=d.field)
            source_ds = ref("Dataset", namespace=d.source.key["namespace"], name=d.source.key["name"])
            props = {"types": d.types, "subtypes": d.subtypes, "masking": d.masking}
            out += [
                NodeUpsert(node=field),
                NodeUpsert(node=d.source),
                EdgeUpsert(type="HAS_FIELD", start=m.dataset, end=field),
                EdgeUpsert(type="HAS_FIELD", start=source_ds, end=d.source),
                EdgeUpsert(
                    type="DERIVED_FROM",
                    start=field,
                    end=d.source,
                    props={**props, "transformations": d.transformations, "_stamp": d.stamp},
                ),
            ]
    return out
