"""Graph mutations: the lineage.graph message format, checked against the graph model."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from lineage.graph_mapping import run_mutations
from lineage.mutations import (
    EdgeUpsert,
    NodeRef,
    NodeUpsert,
    decode_change_set,
    decode_mutation,
    encode_change_set,
    encode_mutation,
    join_change_set,
    node,
    read_change_set,
    ref,
    split_change_sets,
)
from tests.unit.factories import dataset, run_event
from tests.unit.lineage.strategies import at, fold

RUN = ref("Run", runId="0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e")
JOB = ref("Job", namespace="airflow", name="dag.task")
DS = ref("Dataset", namespace="postgres://db:5432", name="public.orders")


@pytest.mark.parametrize(
    "mutation",
    [
        node("Job", {"facets": '{"a": 1}'}, namespace="airflow", name="dag.task"),
        node(
            "Run",
            {"state": "COMPLETED", "startedAt": "2024-01-01T10:00:00+00:00", "endedAt": None},
            runId="0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e",
        ),
        node("Field", {"type": "INT", "description": None}, namespace="db", name="t", field="id"),
        node("Dataset", namespace="db", name="t"),
        EdgeUpsert(type="INSTANCE_OF", start=RUN, end=JOB),
        EdgeUpsert(type="READ", start=RUN, end=DS, props={"runCount": 3, "weights": [1.5, 2.0], "ok": True}),
    ],
    ids=lambda m: f"{m.op}",
)
def test_encode_decode_round_trip(mutation: NodeUpsert | EdgeUpsert) -> None:
    raw = encode_mutation(mutation)
    assert isinstance(raw, bytes)
    decoded = decode_mutation(raw)
    assert type(decoded) is type(mutation)
    assert decoded == mutation
    assert encode_mutation(decoded) == raw


def test_decode_accepts_str() -> None:
    assert decode_mutation(encode_mutation(EdgeUpsert(type="WROTE", start=RUN, end=DS)).decode()).type == "WROTE"


def _node_json(label: str, key: dict[str, str]) -> str:
    return json.dumps({"op": "node", "node": {"label": label, "key": key}, "props": {}})


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(_node_json("Table", {"namespace": "n", "name": "t"}), id="unknown-label"),
        pytest.param(_node_json("Run", {"namespace": "n", "name": "t"}), id="run-keyed-like-a-job"),
        pytest.param(_node_json("Job", {"namespace": "n"}), id="missing-key-part"),
        pytest.param(_node_json("Job", {"namespace": "n", "name": "j", "extra": "x"}), id="extra-key-part"),
        pytest.param(_node_json("Field", {"namespace": "n", "name": "t"}), id="field-without-field"),
        pytest.param(json.dumps({"op": "delete", "node": {"label": "Job", "key": {}}}), id="unknown-op"),
        pytest.param(
            json.dumps(
                {
                    "op": "node",
                    "node": {"label": "Job", "key": {"namespace": "n", "name": "j"}},
                    "props": {},
                    "cypher": "MATCH (n) DETACH DELETE n",
                }
            ),
            id="extra-field",
        ),
        pytest.param(
            json.dumps(
                {
                    "op": "node",
                    "node": {"label": "Job", "key": {"namespace": "n", "name": "j"}},
                    "props": {"facets": {"nested": "map"}},
                }
            ),
            id="map-property",
        ),
    ],
)
def test_decode_rejects_what_breaks_the_graph_model(raw: str) -> None:
    with pytest.raises(ValidationError):
        decode_mutation(raw)
    # The sink's reading of the same message refuses it too, for the same reason.
    mutations, problems = read_change_set(raw)
    assert mutations == [] and len(problems) == 1


def _edge_json(rel_type: str, start: NodeRef, end: NodeRef) -> str:
    return json.dumps(
        {"op": "edge", "type": rel_type, "start": start.model_dump(), "end": end.model_dump(), "props": {}}
    )


@pytest.mark.parametrize(
    ("rel_type", "start", "end"),
    [
        ("READ", JOB, DS),
        ("WROTE", DS, RUN),
        ("INSTANCE_OF", JOB, RUN),
        ("PART_OF", RUN, JOB),
        ("CHILD_OF", RUN, JOB),
        ("DELETES", RUN, DS),
    ],
)
def test_edges_with_wrong_endpoints_or_type_are_rejected(rel_type: str, start: NodeRef, end: NodeRef) -> None:
    with pytest.raises(ValidationError):
        decode_mutation(_edge_json(rel_type, start, end))
    assert read_change_set(_edge_json(rel_type, start, end))[0] == []
    with pytest.raises(ValidationError):
        EdgeUpsert(type=rel_type, start=start, end=end)  # type: ignore[arg-type]


def test_building_a_node_with_the_wrong_key_is_rejected() -> None:
    with pytest.raises(ValidationError):
        node("Run", namespace="n", name="x")
    with pytest.raises(ValidationError):
        ref("Dataset", namespace="n")


def test_message_key_of_an_edge_is_its_start_nodes() -> None:
    edge = EdgeUpsert(type="READ", start=RUN, end=DS)
    start_node = NodeUpsert(node=RUN, props={"state": "RUNNING"})
    assert edge.message_key() == start_node.message_key() == RUN.message_key()
    assert edge.message_key() != NodeUpsert(node=DS).message_key()


def test_node_message_key_names_label_and_key_in_model_order() -> None:
    # Key order in the message must not matter; the model's key order does.
    a = NodeRef(label="Job", key={"name": "dag.task", "namespace": "airflow"})
    assert a.message_key() == "Job:airflow:dag.task"
    assert a.message_key() == JOB.message_key()
    assert a.sort_key() == ("Job", "airflow", "dag.task")


def test_mutations_are_immutable() -> None:
    m = node("Job", namespace="n", name="j")
    with pytest.raises(ValidationError):
        m.props = {"x": 1}  # type: ignore[misc]


def test_the_sink_reads_every_mutation_the_mapping_makes_as_the_models_do() -> None:
    """``read_change_set`` (plain objects, for the sink) and ``decode_change_set`` (models) agree."""
    parent = {"run": {"runId": "1d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e"}, "job": {"namespace": "airflow", "name": "dag"}}
    schema = {"fields": [{"name": "id", "type": "INT"}, {"name": "email"}]}
    lineage = {"fields": {"id": {"inputFields": [{"namespace": "db", "name": "src", "field": "id"}]}}}
    event = run_event(
        "COMPLETE",
        at(1),
        inputs=[dataset("db", "src", {"schema": schema})],
        outputs=[dataset("db", "dst", {"schema": schema, "columnLineage": lineage})],
        run_facets={"parent": parent},
    )
    mutations = run_mutations(fold([event]))
    assert {m.op for m in mutations} == {"node", "edge", "fields", "usage"}
    raw = encode_change_set(mutations)
    dicts, problems = read_change_set(raw)
    assert problems == []
    assert [decode_mutation(json.dumps(d)) for d in dicts] == decode_change_set(raw)[0] == mutations
    # One bad item: the message is read through the models, which name it; the rest are kept.
    dicts, problems = read_change_set(raw[:-1] + b', {"op": "edge", "type": "WROTE"}]')
    assert [decode_mutation(json.dumps(d)) for d in dicts] == mutations
    assert [p.split(":")[0] for p in problems] == [f"item {len(mutations)}"]


def test_a_change_set_round_trips_and_reports_each_bad_item() -> None:
    good = [node("Job", namespace="ns", name="j"), EdgeUpsert(type="WROTE", start=RUN, end=DS)]
    assert decode_change_set(encode_change_set(good)) == (good, [])
    assert decode_change_set(encode_mutation(good[0])) == ([good[0]], [])  # a lone mutation
    mutations, problems = decode_change_set(b'[{"op": "edge", "type": "WROTE"}, ' + encode_mutation(good[0]) + b", 3]")
    assert mutations == [good[0]]
    assert [p.split(":")[0] for p in problems] == ["item 0", "item 2"]
    assert decode_change_set(b"{oops")[1][0].startswith("not JSON")


@given(st.lists(st.binary(min_size=1, max_size=40), max_size=30), st.integers(min_value=3, max_value=120))
def test_change_sets_are_split_under_the_limit_keeping_every_mutation_in_order(
    encoded: list[bytes], limit: int
) -> None:
    sets, too_large = split_change_sets(encoded, limit)
    assert all(2 < len(s) <= limit for s in sets)
    assert too_large == [m for m in encoded if len(m) + 2 > limit]
    kept = [m for m in encoded if len(m) + 2 <= limit]
    assert b",".join(s[1:-1] for s in sets) == b",".join(kept)
    # No more messages than needed: each set was closed because the next mutation did not fit.
    assert all(len(a) + len(b) - 1 > limit for a, b in itertools.pairwise(sets))


def test_a_change_set_that_fits_stays_one_message() -> None:
    encoded = [encode_mutation(node("Job", namespace="n", name=str(i))) for i in range(50)]
    assert split_change_sets(encoded, 1_000_000) == ([join_change_set(encoded)], [])
