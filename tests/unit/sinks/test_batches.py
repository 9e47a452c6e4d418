"""Statement batches (sinks.batches) and the Cypher they use (sinks.cypher)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from lineage.graph_model import DATETIME_PROPERTIES, NAME_SEARCH_INDEXES, NODE_KEYS, RELATIONSHIPS, SEARCH_INDEXES
from lineage.mutations import Derivation, EdgeUpsert, FieldsUpsert, FieldVersion, NodeUpsert, Versioned, node, ref
from sinks import cypher
from sinks.batches import plan

RUN_A = ref("Run", runId="aaaaaaaa-0000-4000-8000-000000000000")
RUN_B = ref("Run", runId="bbbbbbbb-0000-4000-8000-000000000000")
JOB = ref("Job", namespace="ns", name="job")
DS_X = ref("Dataset", namespace="db", name="x")
DS_Y = ref("Dataset", namespace="db", name="y")


def _job(name: str, **props: object) -> NodeUpsert:
    return node("Job", dict(props), namespace="ns", name=name)


def _statement_kinds(statements: list[tuple[str, list[dict[str, object]]]]) -> list[str]:
    return ["edge" if "]->(" in text else "node" for text, _ in statements]


# --- plan ----------------------------------------------------------------------------------------


def test_nodes_go_before_edges_whatever_the_input_order() -> None:
    mutations = [
        EdgeUpsert(type="READ", start=RUN_A, end=DS_X),
        EdgeUpsert(type="INSTANCE_OF", start=RUN_A, end=JOB),
        NodeUpsert(node=DS_X),
        NodeUpsert(node=RUN_A, props={"state": "RUNNING"}),
        NodeUpsert(node=JOB),
    ]
    statements = plan(mutations)
    assert [text for text, _ in statements] == [
        cypher.merge_nodes("Dataset"),
        cypher.merge_nodes("Job"),
        cypher.merge_nodes("Run"),
        cypher.merge_edges("INSTANCE_OF"),
        cypher.merge_edges("READ"),
    ]
    assert _statement_kinds(statements) == ["node"] * 3 + ["edge"] * 2


def test_rows_are_sorted_by_key() -> None:
    statements = plan([_job("c"), _job("a"), node("Job", namespace="aa", name="z"), _job("b")])
    ((_, rows),) = statements
    assert [(r["key"]["namespace"], r["key"]["name"]) for r in rows] == [
        ("aa", "z"),
        ("ns", "a"),
        ("ns", "b"),
        ("ns", "c"),
    ]


def test_edge_rows_are_sorted_by_start_then_end() -> None:
    statements = plan(
        [
            EdgeUpsert(type="READ", start=RUN_B, end=DS_X),
            EdgeUpsert(type="READ", start=RUN_A, end=DS_Y),
            EdgeUpsert(type="READ", start=RUN_A, end=DS_X),
        ]
    )
    ((_, rows),) = statements
    assert [(r["start"]["runId"][0], r["end"]["name"]) for r in rows] == [("a", "x"), ("a", "y"), ("b", "x")]
    assert rows[0] == {"start": dict(RUN_A.key), "end": dict(DS_X.key), "props": {}}


def test_the_last_upsert_of_a_key_wins() -> None:
    statements = plan([_job("a", owner="first"), _job("b", owner="other"), _job("a", owner="last")])
    ((_, rows),) = statements
    assert rows == [
        {"key": {"namespace": "ns", "name": "a"}, "props": {"owner": "last"}, "versioned": []},
        {"key": {"namespace": "ns", "name": "b"}, "props": {"owner": "other"}, "versioned": []},
    ]


def test_versioned_properties_of_one_node_merge_per_name_the_greatest_stamp_winning() -> None:
    def job(**versions: tuple[str, str | None]) -> NodeUpsert:
        return NodeUpsert(node=JOB, versioned={n: Versioned(stamp=s, value=v) for n, (s, v) in versions.items()})

    batch = [
        job(sql=("2024-01-02|1|aa", '"new"'), owner=("2024-01-01|1|aa", '"x"')),
        job(sql=("2024-01-01|1|bb", '"old"'), tags=("2024-01-01|0|cc", None)),
    ]
    for mutations in (batch, batch[::-1]):
        ((_, (row,)),) = plan(mutations)
        assert row["versioned"] == [
            {"name": "owner", "stamp": "2024-01-01|1|aa", "value": '"x"'},
            {"name": "sql", "stamp": "2024-01-02|1|aa", "value": '"new"'},
            {"name": "tags", "stamp": "2024-01-01|0|cc", "value": None},
        ]


def test_the_last_edge_upsert_wins_and_distinct_edges_are_kept() -> None:
    statements = plan(
        [
            EdgeUpsert(type="READ", start=RUN_A, end=DS_X, props={"runCount": 1}),
            EdgeUpsert(type="WROTE", start=RUN_A, end=DS_X, props={"runCount": 7}),
            EdgeUpsert(type="READ", start=RUN_A, end=DS_X, props={"runCount": 2}),
        ]
    )
    by_text = dict(statements)
    assert [r["props"] for r in by_text[cypher.merge_edges("READ")]] == [{"runCount": 2}]
    assert [r["props"] for r in by_text[cypher.merge_edges("WROTE")]] == [{"runCount": 7}]


def test_datetime_properties_become_datetimes() -> None:
    run = NodeUpsert(
        node=RUN_A,
        props={
            "state": "COMPLETED",
            "startedAt": "2024-01-01T10:00:00+00:00",
            "endedAt": "2024-01-01T12:30:00.5+02:00",
            "nominalStartTime": "2020-12-17T03:00:00.001Z",
            "nominalEndTime": None,
        },
    )
    ((_, (row,)),) = plan([run])
    props = row["props"]
    assert props["startedAt"] == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert isinstance(props["endedAt"], datetime)
    assert props["endedAt"].utcoffset() == timedelta(hours=2)
    assert props["endedAt"] == datetime(2024, 1, 1, 10, 30, 0, 500000, tzinfo=UTC)
    assert props["nominalStartTime"] == datetime(2020, 12, 17, 3, 0, 0, 1000, tzinfo=UTC)
    assert props["nominalEndTime"] is None
    assert props["state"] == "COMPLETED"  # not a datetime property: untouched
    # The mutation itself is not changed by planning.
    assert run.props["startedAt"] == "2024-01-01T10:00:00+00:00"


def test_only_datetime_properties_are_converted() -> None:
    ((_, (row,)),) = plan([_job("a", description="2024-01-01T10:00:00+00:00")])
    assert row["props"]["description"] == "2024-01-01T10:00:00+00:00"


def test_an_unparseable_datetime_string_is_kept_not_lost() -> None:
    ((_, (row,)),) = plan([NodeUpsert(node=RUN_A, props={"nominalStartTime": "sometime tomorrow"})])
    assert row["props"]["nominalStartTime"] == "sometime tomorrow"


def test_datetime_properties_on_edges_are_converted_too() -> None:
    edge = EdgeUpsert(type="READ", start=RUN_A, end=DS_X, props={"startedAt": "2024-01-01T10:00:00Z"})
    ((_, (row,)),) = plan([edge])
    assert row["props"]["startedAt"] == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


def test_the_datetime_property_list_is_the_runs_instants() -> None:
    assert {"startedAt", "endedAt", "nominalStartTime", "nominalEndTime"} <= DATETIME_PROPERTIES


def test_empty_input_gives_no_statements() -> None:
    assert plan([]) == []


def test_statement_text_does_not_depend_on_rows() -> None:
    small = plan([_job("a")])
    large = plan([_job(f"j{i}", owner=str(i)) for i in range(50)])
    assert small[0][0] is large[0][0]
    assert len(large[0][1]) == 50


# --- cypher --------------------------------------------------------------------------------------

NODE_PATTERN = re.compile(r"\((\w+):(\w+) \{([^}]*)\}\)")
REL_PATTERN = re.compile(r"\[(\w+):(\w+)\]")


@pytest.mark.parametrize("label", sorted(NODE_KEYS))
def test_node_statement_is_constant_and_keyed_by_the_model(label: str) -> None:
    text = cypher.merge_nodes(label)
    assert cypher.merge_nodes(label) is text
    assert text.startswith("UNWIND $rows AS row ")
    assert "$" not in text.replace("$rows", "")  # one parameter, no interpolated values
    ((_, found_label, key_map),) = NODE_PATTERN.findall(text)
    assert found_label == label
    assert key_map == ", ".join(f"{k}: row.key.{k}" for k in NODE_KEYS[label])
    assert "SET n += row.props" in text
    assert "CREATE" not in text


@pytest.mark.parametrize("rel_type", sorted(RELATIONSHIPS))
def test_edge_statement_is_constant_and_uses_only_model_labels(rel_type: str) -> None:
    text = cypher.merge_edges(rel_type)
    assert cypher.merge_edges(rel_type) is text
    start, end = RELATIONSHIPS[rel_type]
    patterns = NODE_PATTERN.findall(text)
    assert [(var, label) for var, label, _ in patterns] == [("a", start), ("b", end)]
    assert patterns[0][2] == ", ".join(f"{k}: row.start.{k}" for k in NODE_KEYS[start])
    assert patterns[1][2] == ", ".join(f"{k}: row.end.{k}" for k in NODE_KEYS[end])
    assert REL_PATTERN.findall(text) == [("r", rel_type)]
    assert f"MERGE (a)-[r:{rel_type}]->(b)" in text
    assert "CREATE" not in text


def test_every_label_and_type_in_any_statement_comes_from_the_graph_model() -> None:
    texts = [cypher.merge_nodes(label) for label in NODE_KEYS] + [cypher.merge_edges(t) for t in RELATIONSHIPS]
    labels = {label for text in texts for _, label, _ in NODE_PATTERN.findall(text)}
    types = {t for text in texts for _, t in REL_PATTERN.findall(text)}
    assert labels == set(NODE_KEYS)
    assert types == set(RELATIONSHIPS)


@pytest.mark.parametrize("name", ["Table", "Job) DETACH DELETE n //", "job"])
def test_unknown_labels_never_reach_cypher(name: str) -> None:
    with pytest.raises(KeyError):
        cypher.merge_nodes(name)
    with pytest.raises(KeyError):
        cypher.merge_edges(name)


def test_schema_statements_have_one_uniqueness_constraint_per_label_then_the_lookup_indexes() -> None:
    statements = cypher.schema_statements()
    assert len(statements) == len(NODE_KEYS) + len(cypher.LOOKUP_INDEXES) + len(NAME_SEARCH_INDEXES) + len(
        SEARCH_INDEXES
    )
    names = [name for name, _ in statements]
    assert len(set(names)) == len(names)
    constrained = {}
    for name, text in statements[: len(NODE_KEYS)]:
        match = re.fullmatch(
            rf"CREATE CONSTRAINT {name} IF NOT EXISTS FOR \(n:(\w+)\) REQUIRE \(([^)]*)\) IS UNIQUE", text
        )
        assert match, text
        constrained[match.group(1)] = tuple(p.removeprefix("n.") for p in match.group(2).split(", "))
    assert constrained == NODE_KEYS
    indexed = {}
    lookups = len(NODE_KEYS) + len(cypher.LOOKUP_INDEXES)
    for name, text in statements[len(NODE_KEYS) : lookups]:
        match = re.fullmatch(rf"CREATE INDEX {name} IF NOT EXISTS FOR \(n:(\w+)\) ON \(n\.(\w+)\)", text)
        assert match, text
        indexed[name] = (match.group(1), match.group(2))
    assert indexed == {"job_name": ("Job", "name"), "dataset_name": ("Dataset", "name"), "run_state": ("Run", "state")}
    searched = {}
    searches = len(statements) - len(SEARCH_INDEXES)
    for name, text in statements[lookups:searches]:
        match = re.fullmatch(
            rf"CREATE FULLTEXT INDEX {name} IF NOT EXISTS FOR \(n:(\w+)\) ON EACH \[n.namespace, n.name\] "
            r"OPTIONS \{indexConfig: \{`fulltext.analyzer`: 'simple'\}\}",
            text,
        )
        assert match, text
        searched[match.group(1)] = name
    assert searched == NAME_SEARCH_INDEXES
    assert statements[searches:] == [
        (
            name,
            f"CREATE FULLTEXT INDEX {name} IF NOT EXISTS FOR (n:{label}) ON EACH [n.{prop}] "
            "OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words'}}",
        )
        for label, (name, prop) in SEARCH_INDEXES.items()
    ]


def test_fields_and_derivations_merge_per_key_and_come_after_nodes_in_key_order() -> None:
    source = ref("Field", namespace="db", name="src", field="id")

    def fields(stamp: str, kind: str, *names: str) -> FieldsUpsert:
        return FieldsUpsert(
            dataset=DS_Y,
            fields=[FieldVersion(name=n, stamp=stamp, type=kind) for n in names],
            derived=[Derivation(field=n, source=source, stamp=stamp, types=[kind]) for n in names],
        )

    batch = [fields("2", "BIGINT", "b", "a"), NodeUpsert(node=DS_X), fields("1", "INT", "a", "c")]
    for mutations in (batch, batch[::-1]):
        statements = plan(mutations)
        assert [text for text, _ in statements] == [
            cypher.merge_nodes("Dataset"),
            cypher.merge_fields(),
            cypher.merge_derivations(),
        ]
        ((_, (row,)),) = [s for s in statements if s[0] == cypher.merge_fields()]
        assert row["key"] == DS_Y.key
        assert [(f["name"], f["type"]) for f in row["fields"]] == [("a", "BIGINT"), ("b", "BIGINT"), ("c", "INT")]
        derived = dict(statements)[cypher.merge_derivations()]
        assert [(r["out"]["field"], r["props"]["types"], r["stamp"]) for r in derived] == [
            ("a", ["BIGINT"], "2"),
            ("b", ["BIGINT"], "2"),
            ("c", ["INT"], "1"),
        ]
        assert derived[0]["in"] == source.key


def test_a_later_upsert_without_a_property_leaves_it_as_set_n_plus_equals_would() -> None:
    """A parent run's placeholder (no properties) after the run's own upsert, in one batch."""
    statements = plan([NodeUpsert(node=RUN_A, props={"state": "COMPLETED"}), NodeUpsert(node=RUN_A)])
    ((_, (row,)),) = statements
    assert row["props"] == {"state": "COMPLETED"}
    edge = plan([EdgeUpsert(type="READ", start=RUN_A, end=DS_X, props={"provisional": False}),
                 EdgeUpsert(type="READ", start=RUN_A, end=DS_X)])  # fmt: skip
    assert edge[0][1][0]["props"] == {"provisional": False}


def test_within_a_batch_a_run_never_goes_back() -> None:
    run = ref("Run", runId="0b9f4c5e-1d2a-4c1b-9a8e-3f2d1c0b9a87")
    completed = NodeUpsert(node=run, props={"state": "COMPLETED", "errorMessage": None})
    stale = NodeUpsert(node=run, props={"state": "RUNNING", "errorMessage": "older"})
    failed = NodeUpsert(node=run, props={"state": "FAILED", "errorMessage": "boom"})
    for upserts, want in [
        ([completed, stale], {"state": "COMPLETED", "errorMessage": None}),
        ([stale, completed], {"state": "COMPLETED", "errorMessage": None}),
        ([completed, NodeUpsert(node=run), stale, failed, completed], {"state": "FAILED", "errorMessage": "boom"}),
    ]:
        [(statement, rows)] = plan(upserts)
        assert statement == cypher.merge_nodes("Run")
        assert rows[0]["props"] == want


def test_only_runs_are_guarded_by_state() -> None:
    [(_, rows)] = plan([_job("j", state="COMPLETED"), _job("j", state="RUNNING")])
    assert rows[0]["props"]["state"] == "RUNNING"
