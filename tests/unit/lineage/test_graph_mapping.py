"""From a merged run to graph mutations (DESIGN.md section 3, "Neo4j graph")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.events import InvalidEvent, RunEvent, decode, decode_run_event
from lineage.graph_mapping import run_mutations
from lineage.graph_model import NODE_KEYS, RELATIONSHIPS
from lineage.merge import merge_event
from lineage.mutations import EdgeUpsert, FieldsUpsert, NodeUpsert, UsageUpsert, decode_mutation, encode_mutation
from lineage.naming import run_key
from tests.unit.factories import FULL_EVENT, RUN_ID, dataset, load_json, run_event, run_event_dict
from tests.unit.fake_graph import expand
from tests.unit.lineage.strategies import arrivals, at, fold, run_events

Mutations = list[NodeUpsert | EdgeUpsert]


def nodes(mutations: Mutations, label: str) -> dict[tuple[str, ...], dict[str, Any]]:
    """Per node, its properties and the values of its versioned properties other than facets."""
    mutations = expand(mutations)
    return {
        tuple(m.node.key[k] for k in NODE_KEYS[label]): dict(m.props)
        | {n: v.value for n, v in m.versioned.items() if not n.startswith("facet_")}
        for m in mutations
        if isinstance(m, NodeUpsert) and m.node.label == label
    }


def facets(mutations: Mutations, label: str) -> dict[tuple[str, ...], dict[str, Any]]:
    """Per node, the facet versions it carries: name -> parsed value (None for a tombstone)."""
    return {
        tuple(m.node.key[k] for k in NODE_KEYS[label]): {
            name.removeprefix("facet_"): None if v.value is None else json.loads(v.value)
            for name, v in m.versioned.items()
        }
        for m in mutations
        if isinstance(m, NodeUpsert) and m.node.label == label
    }


def edges(mutations: Mutations, rel_type: str) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    mutations = expand(mutations)
    return {
        (m.start.sort_key(), m.end.sort_key()) for m in mutations if isinstance(m, EdgeUpsert) and m.type == rel_type
    }


def encoded(mutations: Mutations) -> list[bytes]:
    return [encode_mutation(m) for m in mutations]


# --- the real example_full_event.json, merged with a START ----------------------------------------

FULL_RUN_ID = "ea041791-68bc-4ae1-bd89-4c8106a157e4"
JOB = ("Job", "my-scheduler-namespace", "myjob.mytask")
RUN = ("Run", FULL_RUN_ID)
DS = ("Dataset", "my-datasource-namespace", "instance.schema.table")
START_TIME = datetime(2020, 12, 28, 19, 50, tzinfo=UTC)
COMPLETE_TIME = datetime(2020, 12, 28, 19, 51, 1, 641000, tzinfo=UTC)


@pytest.fixture(scope="module")
def full_event() -> dict[str, Any]:
    return load_json(FULL_EVENT)


@pytest.fixture(scope="module")
def full_mutations(full_event: dict[str, Any]) -> Mutations:
    complete = decode_run_event(FULL_EVENT.read_bytes())
    start_dict = json.loads(json.dumps(full_event))
    start_dict["eventType"] = "START"
    start_dict["eventTime"] = START_TIME.isoformat()
    start = decode_run_event(json.dumps(start_dict).encode())
    return run_mutations(fold([complete, start]))


def test_full_event_job_node_keeps_job_facets(full_event: dict[str, Any], full_mutations: Mutations) -> None:
    assert facets(full_mutations, "Job")[JOB[1:]] == full_event["job"]["facets"]


def test_full_event_run_node(full_event: dict[str, Any], full_mutations: Mutations) -> None:
    run = nodes(full_mutations, "Run")[(FULL_RUN_ID,)]
    assert run["state"] == "COMPLETED"
    assert datetime.fromisoformat(run["startedAt"]) == START_TIME
    assert datetime.fromisoformat(run["endedAt"]) == COMPLETE_TIME
    assert run["nominalStartTime"] == "2020-12-17T03:00:00.001Z"
    assert run["nominalEndTime"] == "2020-12-17T04:00:00.001Z"
    assert run["errorMessage"] is None
    # No run facet is lost: nominalTime, parent and tags, whole.
    assert facets(full_mutations, "Run")[(FULL_RUN_ID,)] == full_event["run"]["facets"]


def test_full_event_relationships(full_mutations: Mutations) -> None:
    assert edges(full_mutations, "INSTANCE_OF") == {(RUN, JOB)}
    assert edges(full_mutations, "READ") == {(RUN, DS)}
    assert edges(full_mutations, "WROTE") == {(RUN, DS)}
    assert DS[1:] in nodes(full_mutations, "Dataset")


def test_full_event_schema_fields(full_mutations: Mutations) -> None:
    field_key = ("my-datasource-namespace", "instance.schema.table", "column1")
    fields = nodes(full_mutations, "Field")
    assert set(fields) == {field_key}
    assert fields[field_key] == {"type": "VARCHAR", "description": "string"}
    assert edges(full_mutations, "HAS_FIELD") == {(DS, ("Field", *field_key))}


def test_full_event_links_the_parent_run_but_not_its_own_job(
    full_event: dict[str, Any], full_mutations: Mutations
) -> None:
    parent = full_event["run"]["facets"]["parent"]
    # In this file the parent facet names the run's own job: no PART_OF self-loop.
    assert (parent["job"]["namespace"], parent["job"]["name"]) == JOB[1:]
    assert edges(full_mutations, "CHILD_OF") == {(RUN, ("Run", parent["run"]["runId"]))}
    assert edges(full_mutations, "PART_OF") == set()
    # The parent run is a placeholder that must not overwrite what its own events say.
    assert nodes(full_mutations, "Run")[(parent["run"]["runId"],)] == {}


def test_every_mutation_round_trips_and_fits_the_graph_model(full_mutations: Mutations) -> None:
    for m in full_mutations:
        assert decode_mutation(encode_mutation(m)) == m
        if isinstance(m, EdgeUpsert):
            assert (m.start.label, m.end.label) == RELATIONSHIPS[m.type]


# --- parents ---------------------------------------------------------------------------------------

PARENT_RUN = "6f2a2c1e-0000-4000-8000-00000000beef"
ROOT_RUN = "6f2a2c1e-0000-4000-8000-0000000000aa"


def _with_parent(parent: dict[str, Any]) -> Mutations:
    return run_mutations(fold([run_event("START", at(0), job=("ns", "child"), run_facets={"parent": parent})]))


def test_parent_in_another_job_gives_child_of_and_part_of() -> None:
    mutations = _with_parent(
        {
            "run": {"runId": PARENT_RUN},
            "job": {"namespace": "ns", "name": "dag"},
            "root": {"run": {"runId": ROOT_RUN}, "job": {"namespace": "ns", "name": "root-dag"}},
        }
    )
    child_run = ("Run", "0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e")
    assert edges(mutations, "CHILD_OF") == {(child_run, ("Run", PARENT_RUN))}
    assert edges(mutations, "PART_OF") == {(("Job", "ns", "child"), ("Job", "ns", "dag"))}
    # Placeholders for the parent run and job carry no properties.
    assert nodes(mutations, "Job")[("ns", "dag")] == {}
    assert nodes(mutations, "Run")[(PARENT_RUN,)] == {}


def test_parent_naming_the_same_job_gives_no_part_of() -> None:
    mutations = _with_parent({"run": {"runId": PARENT_RUN}, "job": {"namespace": "ns", "name": "child"}})
    assert len(edges(mutations, "CHILD_OF")) == 1
    assert edges(mutations, "PART_OF") == set()


def test_parent_without_run_id_links_the_jobs_only() -> None:
    # OpenLineage's own event_invalid_run_facet fixture: the spec requires parent.run.runId. The
    # event is taken (a malformed facet costs what cannot be read of it), the job still has a parent.
    mutations = _with_parent({"run": {}, "job": {"namespace": "ns", "name": "dag"}})
    assert edges(mutations, "CHILD_OF") == set()
    assert edges(mutations, "PART_OF") == {(("Job", "ns", "child"), ("Job", "ns", "dag"))}


def test_a_parent_run_id_of_text_is_keyed_like_that_runs_own_events() -> None:
    mutations = _with_parent({"run": {"runId": "scheduled__2024-01-01"}, "job": {"namespace": "ns", "name": "dag"}})
    assert edges(mutations, "CHILD_OF") == {(("Run", RUN_ID), ("Run", str(run_key("scheduled__2024-01-01"))))}


def test_no_parent_no_parent_links() -> None:
    mutations = run_mutations(fold([run_event("START", at(0))]))
    assert edges(mutations, "CHILD_OF") == edges(mutations, "PART_OF") == set()


def test_parent_run_id_is_keyed_like_the_parent_runs_own_events() -> None:
    mutations = _with_parent({"run": {"runId": PARENT_RUN.upper()}, "job": {"namespace": "ns", "name": "dag"}})
    parent_own = run_mutations(fold([run_event("START", at(0), run_id=PARENT_RUN.upper())]))
    (parent_key,) = nodes(parent_own, "Run")
    assert parent_key == (str(UUID(PARENT_RUN)),)
    assert {end for _, end in edges(mutations, "CHILD_OF")} == {("Run", *parent_key)}


# --- other run properties ----------------------------------------------------------------------------


def test_failed_run_carries_error_message_and_end() -> None:
    merged = fold(
        [
            run_event("START", at(0)),
            run_event("FAIL", at(30), run_facets={"errorMessage": {"message": "boom", "programmingLanguage": "py"}}),
        ]
    )
    (run,) = nodes(run_mutations(merged), "Run").values()
    assert run["state"] == "FAILED"
    assert run["errorMessage"] == "boom"
    assert datetime.fromisoformat(run["endedAt"]) == at(30)


def test_running_run_has_no_end_and_no_nominal_times() -> None:
    (run,) = nodes(run_mutations(fold([run_event("RUNNING", at(5))])), "Run").values()
    assert run["state"] == "RUNNING"
    assert datetime.fromisoformat(run["startedAt"]) == at(5)
    assert run["endedAt"] is None
    assert run["nominalStartTime"] is None


def test_deleted_run_facet_travels_as_a_tombstone() -> None:
    merged = fold(
        [
            run_event("START", at(0), run_facets={"a": {"v": 1}, "b": {"v": 2}}),
            run_event("COMPLETE", at(9), run_facets={"b": {"_deleted": True}}),
        ]
    )
    (run,) = facets(run_mutations(merged), "Run").values()
    assert run == {"a": {"v": 1}, "b": None}


def test_job_facet_deleted_later_in_the_run_is_a_tombstone_stamped_with_the_deletion() -> None:
    merged = fold(
        [
            run_event("START", at(0), job_facets={"ownership": {"owners": [{"name": "team"}]}}),
            run_event("COMPLETE", at(9), job_facets={"ownership": {"_deleted": True}}),
        ]
    )
    (job,) = (m for m in run_mutations(merged) if isinstance(m, NodeUpsert) and m.node.label == "Job")
    assert job.versioned["facet_ownership"].value is None
    assert job.versioned["facet_ownership"].stamp.startswith(
        at(9).replace(tzinfo=None).isoformat(timespec="microseconds")
    )


def test_dataset_node_carries_its_latest_facets() -> None:
    given_facets = {"ownership": {"owners": [{"name": "team-a"}]}, "vendor": {"x": 1}}
    merged = fold([run_event("START", at(0), inputs=[dataset("db", "t", given_facets)])])
    (ds,) = facets(run_mutations(merged), "Dataset").values()
    assert ds == given_facets


def test_datasets_in_inputs_and_outputs_are_emitted_in_key_order() -> None:
    merged = fold([run_event("START", at(0), inputs=[dataset("db", "z"), dataset("db", "a"), dataset("alpha", "m")])])
    reads = [m.end.sort_key() for m in run_mutations(merged) if isinstance(m, EdgeUpsert) and m.type == "READ"]
    assert reads == [("Dataset", "alpha", "m"), ("Dataset", "db", "a"), ("Dataset", "db", "z")]


# --- order independence of the graph ------------------------------------------------------------------


@settings(deadline=None, database=None, max_examples=200)
@given(data=st.data())
def test_mutations_do_not_depend_on_arrival_order_or_duplicates(data: st.DataObject) -> None:
    originals, arrival = arrivals(data, run_events(offsets=[UTC]))
    assert encoded(run_mutations(fold(arrival))) == encoded(run_mutations(fold(originals)))


def test_same_instant_in_two_offsets_gives_one_graph() -> None:
    start = run_event("START", datetime(2024, 1, 1, 10, 0, tzinfo=UTC))
    running = run_event("RUNNING", datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert encoded(run_mutations(fold([start, running]))) == encoded(run_mutations(fold([running, start])))


# --- malformed known facets: reject at decode, or map; never crash the worker ------------------------


@pytest.mark.parametrize(
    ("run_facets", "inputs"),
    [
        pytest.param({"nominalTime": {"nominalStartTime": 5}}, [], id="nominal-time-number"),
        pytest.param({"parent": "not-a-dict"}, [], id="parent-string"),
        pytest.param({}, [dataset("db", "t", {"schema": {"fields": {"a": 1}}})], id="schema-fields-dict"),
        pytest.param({"nominalTime": "x"}, [], id="nominal-time-string"),
        pytest.param({"errorMessage": "boom"}, [], id="error-message-string"),
        pytest.param({"parent": {"run": "abc"}}, [], id="parent-run-string"),
        pytest.param({"parent": {"job": {"namespace": "n", "name": 5}}}, [], id="parent-job-name-int"),
        pytest.param({}, [dataset("db", "t", {"schema": [1]})], id="schema-list"),
        pytest.param(
            {},
            [dataset("db", "t", {"schema": {"fields": [{"name": "c", "type": {"x": 1}}]}})],
            id="field-type-object",
        ),
    ],
)
def test_malformed_facets_are_rejected_or_mapped(run_facets: dict[str, Any], inputs: list[Any]) -> None:
    raw = json.dumps(run_event_dict("START", at(0), run_facets=run_facets, inputs=inputs))
    try:
        event = decode_run_event(raw)
    except InvalidEvent:
        return
    mutations = run_mutations(fold([event]))
    assert any(isinstance(m, NodeUpsert) and m.node.label == "Run" for m in mutations)


def test_a_run_without_job_facets_leaves_the_jobs_facets_alone() -> None:
    (job,) = run_mutations(fold([run_event("COMPLETE", at(9))]))[:1]
    assert isinstance(job, NodeUpsert) and job.node.label == "Job"
    assert job.props == {} and job.versioned == {}  # nothing for the sink to change


def test_fields_accumulate_over_schema_versions_each_typed_by_its_latest_version() -> None:
    def schema(*fields: tuple[str, str]) -> dict[str, Any]:
        return {"schema": {"fields": [{"name": n, "type": t} for n, t in fields]}}

    events = [
        run_event("START", at(0), inputs=[dataset("db", "t", schema(("id", "INT"), ("email", "STRING")))]),
        run_event("COMPLETE", at(9), inputs=[dataset("db", "t", schema(("id", "BIGINT")))]),
        run_event("OTHER", at(20), inputs=[dataset("db", "t", {"schema": {"_deleted": True}})]),
    ]
    expected = {
        ("db", "t", "id"): {"type": "BIGINT", "description": None},
        ("db", "t", "email"): {"type": "STRING", "description": None},
    }
    for order in (events, events[::-1], [events[2], events[0], events[1]]):
        mutations = run_mutations(fold(order))
        assert nodes(mutations, "Field") == expected
        assert facets(mutations, "Dataset")[("db", "t")] == {"schema": None}  # the facet itself is deleted
        assert len(edges(mutations, "HAS_FIELD")) == 2


def wrote_props(mutations: Mutations) -> list[dict[str, Any]]:
    return [m.props for m in mutations if isinstance(m, EdgeUpsert) and m.type == "WROTE"]


def _columns(*fields: tuple[str, str], description: str | None = None) -> dict[str, Any]:
    return {"schema": {"fields": [{"name": n, "type": t, "description": description} for n, t in fields]}}


def test_wrote_edges_carry_the_written_schemas_digest_which_only_columns_change() -> None:
    def digest(facets: dict[str, Any]) -> Any:
        (props,) = wrote_props(
            run_mutations(fold([run_event("COMPLETE", at(1), outputs=[dataset("db", "t", facets)])]))
        )
        return props["schemaDigest"]

    base = digest(_columns(("id", "INT"), ("email", "STRING")))
    assert base is not None and len(base) == 16
    assert digest(_columns(("id", "INT"), ("email", "STRING"), description="documented")) == base
    assert digest(_columns(("id", "BIGINT"), ("email", "STRING"))) != base  # retyped
    assert digest(_columns(("id", "INT"))) != base  # dropped
    assert digest(_columns(("email", "STRING"), ("id", "INT"))) != base  # reordered
    nested = {"schema": {"fields": [{"name": "a", "type": "struct", "fields": [{"name": "b", "type": "INT"}]}]}}
    other = {"schema": {"fields": [{"name": "a", "type": "struct", "fields": [{"name": "c", "type": "INT"}]}]}}
    assert digest(nested) != digest(other)
    assert digest({}) is None


def test_wrote_edges_list_the_written_columns_for_people() -> None:
    def columns(facets: dict[str, Any]) -> Any:
        (props,) = wrote_props(
            run_mutations(fold([run_event("COMPLETE", at(1), outputs=[dataset("db", "t", facets)])]))
        )
        return props["schemaColumns"]

    assert columns(_columns(("id", "INT"), ("email", "STRING"))) == ["id: INT", "email: STRING"]
    nested = {
        "schema": {
            "fields": [
                {"name": "address", "type": "struct", "fields": [{"name": "city", "type": "STRING"}]},
                {"name": "untyped"},
                {"type": "no name"},
            ]
        }
    }
    assert columns(nested) == ["address: struct", "address.city: STRING", "untyped"]
    assert columns({}) is None and columns({"schema": {"fields": []}}) is None


def test_a_schema_change_within_a_run_rewrites_its_wrote_edge_and_a_declared_alter_travels() -> None:
    start = run_event("START", at(0), outputs=[dataset("db", "t", _columns(("id", "INT")))])
    complete = run_event(
        "COMPLETE",
        at(5),
        outputs=[
            dataset("db", "t", _columns(("id", "BIGINT")) | {"lifecycleStateChange": {"lifecycleStateChange": "ALTER"}})
        ],
    )
    before = fold([start])
    after = fold([start, complete])
    (first,) = wrote_props(run_mutations(before))
    (changed,) = wrote_props(run_mutations(after, before))  # change-only output still re-sends the edge
    assert changed["schemaDigest"] != first["schemaDigest"]
    assert changed["lifecycleStateChange"] == "ALTER" and first["lifecycleStateChange"] is None
    assert changed["provisional"] is False
    # the same schema again, with only a description added: re-sent for its new time, same digest
    again = run_event("OTHER", at(6), outputs=[dataset("db", "t", _columns(("id", "BIGINT"), description="x"))])
    (same,) = wrote_props(run_mutations(fold([start, complete, again]), after))
    assert same["schemaDigest"] == changed["schemaDigest"] and same["schemaAt"] > changed["schemaAt"]


def test_a_schema_change_alone_re_sends_the_wrote_edge() -> None:
    start = run_event("START", at(0), outputs=[dataset("db", "t", _columns(("id", "INT")))])
    running = run_event("RUNNING", at(5), outputs=[dataset("db", "t", _columns(("id", "INT"), ("x", "INT")))])
    before, after = fold([start]), fold([start, running])
    (first,) = wrote_props(run_mutations(before))
    (second,) = wrote_props(run_mutations(after, before))  # still provisional: only the schema changed
    assert first["provisional"] is second["provisional"] is True
    assert first["schemaDigest"] != second["schemaDigest"]
    assert wrote_props(run_mutations(after, after)) == []  # nothing changed, nothing sent


def test_a_schema_that_comes_back_is_a_different_upsert_than_its_first_version() -> None:
    # The processor skips upserts it already sent byte for byte: A, B, then A again must not
    # look like the first A, or the graph would keep B.
    a1 = run_event("START", at(0), outputs=[dataset("db", "t", _columns(("id", "INT")))])
    b = run_event("RUNNING", at(5), outputs=[dataset("db", "t", _columns(("id", "STRING")))])
    a2 = run_event("RUNNING", at(9), outputs=[dataset("db", "t", _columns(("id", "INT")))])
    first = [m for m in run_mutations(fold([a1])) if isinstance(m, EdgeUpsert) and m.type == "WROTE"]
    last = [m for m in run_mutations(fold([a1, b, a2]), fold([a1, b])) if isinstance(m, EdgeUpsert)]
    last = [m for m in last if m.type == "WROTE"]
    assert first[0].props["schemaDigest"] == last[0].props["schemaDigest"]
    assert encode_mutation(first[0]) != encode_mutation(last[0])


# --- column lineage -------------------------------------------------------------------------------

HIVE_CLL = load_json(
    Path(__file__).resolve().parents[4]
    / "shared/openlineage/events/templates/hive/container/cllSimpleQueryWindowedTransformationComplete.json"
)["outputs"][0]["facets"]["columnLineage"]


def derivations(mutations: Mutations) -> dict[tuple[str, tuple[str, ...]], dict[str, Any]]:
    return {
        (d.field, d.source.sort_key()): {"types": d.types, "subtypes": d.subtypes, "masking": d.masking}
        for m in mutations
        if isinstance(m, FieldsUpsert)
        for d in m.derived
    }


def test_column_lineage_of_a_real_hive_event_becomes_derivations() -> None:
    merged = fold(
        [
            run_event(
                "COMPLETE", at(0), outputs=[dataset("hive://localhost:9083", "test.t2", {"columnLineage": HIVE_CLL})]
            )
        ]
    )
    source = ("Field", "hive://localhost:9083", "test.t1")
    assert derivations(run_mutations(merged)) == {
        ("l", (*source, "a")): {"types": ["DIRECT"], "subtypes": ["TRANSFORMATION"], "masking": False},
        ("l", (*source, "b")): {"types": ["INDIRECT"], "subtypes": ["WINDOW"], "masking": False},
        ("l", (*source, "c")): {"types": ["INDIRECT"], "subtypes": ["WINDOW"], "masking": False},
    }


def test_column_lineage_accumulates_and_each_pair_keeps_its_latest_transformations() -> None:
    def cll(subtype: str, *sources: str) -> dict[str, Any]:
        inputs = [
            {
                "namespace": "POSTGRESQL://db",
                "name": "public.orders",
                "field": f,
                "transformations": [{"type": "DIRECT", "subtype": subtype, "masking": subtype == "HASH"}],
            }
            for f in sources
        ]
        return {"columnLineage": {"fields": {"email_hash": {"inputFields": inputs}}}}

    events = [
        run_event("START", at(0), outputs=[dataset("db", "t", cll("IDENTITY", "email", "id"))]),
        run_event("COMPLETE", at(9), outputs=[dataset("db", "t", cll("HASH", "email"))]),
    ]
    source = ("Field", "postgres://db:5432", "public.orders")  # the input's identity is normalised
    for order in (events, events[::-1]):
        assert derivations(run_mutations(fold(order))) == {
            ("email_hash", (*source, "email")): {"types": ["DIRECT"], "subtypes": ["HASH"], "masking": True},
            ("email_hash", (*source, "id")): {"types": ["DIRECT"], "subtypes": ["IDENTITY"], "masking": False},
        }


def test_deprecated_field_level_transformation_type_becomes_one_transformation() -> None:
    facet = {
        "fields": {
            "a": {"inputFields": [{"namespace": "db", "name": "s", "field": "x"}], "transformationType": "MASKED"},
        }
    }
    merged = fold([run_event("COMPLETE", at(0), outputs=[dataset("db", "t", {"columnLineage": facet})])])
    assert derivations(run_mutations(merged)) == {
        ("a", ("Field", "db", "s", "x")): {"types": ["MASKED"], "subtypes": [], "masking": True}
    }


def test_malformed_column_lineage_gives_what_can_be_read_of_it() -> None:
    facet = {
        "fields": {
            "a": {"inputFields": [{"namespace": "db", "name": "s", "field": "x"}]},
            "b": {"inputFields": [{"namespace": "db", "name": "s"}]},  # no field: nothing to link
        }
    }
    raw = json.dumps(run_event_dict("COMPLETE", at(0), outputs=[dataset("db", "t", {"columnLineage": facet})]))
    decoded = decode(raw)
    assert "malformed-facet" in decoded.leniencies
    assert isinstance(decoded.event, RunEvent)
    merged = merge_event(None, decoded.event)
    assert set(derivations(run_mutations(merged))) == {("a", ("Field", "db", "s", "x"))}


def test_a_run_contributes_to_its_jobs_aggregated_edges_with_its_event_window() -> None:
    merged = fold(
        [
            run_event("START", at(0), inputs=[dataset("db", "a")]),
            run_event("RUNNING", at(5)),
            run_event("COMPLETE", at(9), outputs=[dataset("db", "b")]),
        ]
    )
    usage = {
        (m.type, m.dataset.key["name"]): (m.firstSeen, m.lastSeen, m.runId)
        for m in run_mutations(merged)
        if isinstance(m, UsageUpsert)
    }
    window = (at(0).isoformat(), at(9).isoformat(), str(merged.run_id))
    assert usage == {("CONSUMES", "a"): window, ("PRODUCES", "b"): window}


def test_facets_keep_their_characters_unescaped() -> None:
    owners = {"owners": [{"name": "Jürgen Øster, データ"}]}
    merged = fold([run_event("START", at(0), job_facets={"ownership": owners})])
    (job,) = [m for m in run_mutations(merged) if isinstance(m, NodeUpsert) and m.node.label == "Job"]
    text = job.versioned["facet_ownership"].value
    assert text is not None and "Jürgen Øster, データ" in text
    assert json.loads(text) == owners


def test_a_run_named_as_its_own_parent_gets_no_child_of_edge() -> None:
    mutations = _with_parent({"run": {"runId": RUN_ID}, "job": {"namespace": "ns", "name": "dag"}})
    assert edges(mutations, "CHILD_OF") == set()
    assert edges(mutations, "PART_OF") == {(("Job", "ns", "child"), ("Job", "ns", "dag"))}
