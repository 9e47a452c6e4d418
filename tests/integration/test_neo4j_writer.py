"""The Neo4j writer against a real Neo4j: schema, idempotent batches, full-state upserts."""

from __future__ import annotations

import itertools
from typing import Any

import neo4j

from lineage.mutations import (
    AnyMutation,
    Derivation,
    EdgeUpsert,
    FieldsUpsert,
    FieldVersion,
    NodeUpsert,
    UsageUpsert,
    Versioned,
    node,
    ref,
)
from sinks.neo4j_writer import Neo4jGraphWriter

RUN = ref("Run", runId="0b9f4c5e-1d2a-4c1b-9a8e-3f2d1c0b9a87")
JOB = ref("Job", namespace="ns", name="job")
SRC = ref("Dataset", namespace="db", name="src")


def batch(state: str) -> list[NodeUpsert | EdgeUpsert]:
    return [
        NodeUpsert(node=RUN, props={"state": state, "startedAt": "2026-11-20T10:00:00+00:00", "endedAt": None}),
        NodeUpsert(node=JOB),
        EdgeUpsert(type="INSTANCE_OF", start=RUN, end=JOB),
        EdgeUpsert(type="READ", start=RUN, end=SRC),
        node("Field", {"type": "INT"}, namespace="db", name="src", field="id"),
    ]


def graph_shape(driver: neo4j.Driver) -> tuple[dict[str, int], dict[str, int]]:
    nodes = driver.execute_query("MATCH (n) RETURN labels(n)[0] AS l, count(*) AS c").records
    rels = driver.execute_query("MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS c").records
    return {r["l"]: r["c"] for r in nodes}, {r["t"]: r["c"] for r in rels}


def test_schema_has_a_uniqueness_constraint_per_key(empty_graph: neo4j.Driver) -> None:
    writer = Neo4jGraphWriter(empty_graph)
    writer.ensure_schema()
    writer.ensure_schema()  # idempotent
    records = empty_graph.execute_query("SHOW CONSTRAINTS YIELD labelsOrTypes, properties, type").records
    found = {(r["labelsOrTypes"][0], tuple(r["properties"])) for r in records if r["type"] == "UNIQUENESS"}
    assert {
        ("Job", ("namespace", "name")),
        ("Run", ("runId",)),
        ("Dataset", ("namespace", "name")),
        ("Field", ("namespace", "name", "field")),
    } <= found
    empty_graph.execute_query("CALL db.awaitIndexes(60)")
    indexes = empty_graph.execute_query("SHOW INDEXES YIELD name, labelsOrTypes, properties, state").records
    online = {
        r["name"]: (r["labelsOrTypes"][0], tuple(r["properties"]))
        for r in indexes
        if r["state"] == "ONLINE" and r["labelsOrTypes"]
    }
    assert {online.get(n) for n in ("job_name", "dataset_name", "run_state")} == {
        ("Job", ("name",)),
        ("Dataset", ("name",)),
        ("Run", ("state",)),
    }


def test_lookups_by_name_alone_and_by_state_seek_an_index(empty_graph: neo4j.Driver) -> None:
    Neo4jGraphWriter(empty_graph).ensure_schema()
    empty_graph.execute_query("CALL db.awaitIndexes(60)")
    for query in (
        "MATCH (d:Dataset {name: 'orders'}) RETURN d",
        "MATCH (j:Job {name: 'load'}) RETURN j",
        "MATCH (r:Run {state: 'RUNNING'}) RETURN r",
    ):
        plan = empty_graph.execute_query(f"EXPLAIN {query}").summary.plan
        assert "NodeIndexSeek" in _operators(plan), (query, _operators(plan))


def _operators(plan: Any) -> list[str]:
    """The operator names of a query plan (as the driver returns it: a dict), depth first."""
    out = [plan["operatorType"].split("@")[0]]
    for child in plan.get("children", []):
        out += _operators(child)
    return out


def test_a_batch_written_twice_leaves_the_same_graph(empty_graph: neo4j.Driver) -> None:
    writer = Neo4jGraphWriter(empty_graph)
    writer.ensure_schema()
    writer.write(batch("RUNNING"))
    first = graph_shape(empty_graph)
    writer.write(batch("RUNNING"))
    assert (
        graph_shape(empty_graph)
        == first
        == (
            {"Run": 1, "Job": 1, "Dataset": 1, "Field": 1},
            {"INSTANCE_OF": 1, "READ": 1},
        )
    )


def test_a_later_full_state_upsert_replaces_properties(empty_graph: neo4j.Driver) -> None:
    writer = Neo4jGraphWriter(empty_graph)
    writer.ensure_schema()
    writer.write(batch("RUNNING"))
    writer.write([NodeUpsert(node=RUN, props={"state": "COMPLETED", "endedAt": "2026-11-20T10:05:00+00:00"})])
    (record,) = empty_graph.execute_query(
        "MATCH (r:Run) RETURN r.state AS state, r.startedAt AS s, r.endedAt AS e"
    ).records
    assert record["state"] == "COMPLETED"
    assert record["s"].to_native().isoformat() == "2026-11-20T10:00:00+00:00"
    assert record["e"].to_native().isoformat() == "2026-11-20T10:05:00+00:00"
    writer.write([NodeUpsert(node=RUN, props={"endedAt": None})])  # null removes the property
    (record,) = empty_graph.execute_query("MATCH (r:Run) RETURN r.endedAt AS e").records
    assert record["e"] is None


def test_a_run_never_goes_back_whatever_arrives_later(empty_graph: neo4j.Driver) -> None:
    writer = Neo4jGraphWriter(empty_graph)
    writer.ensure_schema()

    def run() -> tuple[str, str | None]:
        (record,) = empty_graph.execute_query("MATCH (r:Run) RETURN r.state AS state, r.endedAt AS e").records
        return record["state"], record["e"] and record["e"].to_native().isoformat()

    completed = NodeUpsert(node=RUN, props={"state": "COMPLETED", "endedAt": "2026-11-20T10:05:00+00:00"})
    writer.write([completed])
    writer.write(batch("RUNNING"))  # an older view of the run, re-sent after a worker restarted
    assert run() == ("COMPLETED", "2026-11-20T10:05:00+00:00")
    writer.write([NodeUpsert(node=RUN)])  # a parent's placeholder: no state, changes nothing
    assert run() == ("COMPLETED", "2026-11-20T10:05:00+00:00")
    writer.write([NodeUpsert(node=RUN, props={"state": "FAILED", "endedAt": "2026-11-20T10:06:00+00:00"})])
    assert run() == ("FAILED", "2026-11-20T10:06:00+00:00")  # up the lattice: FAILED over COMPLETED
    writer.write([completed])
    assert run() == ("FAILED", "2026-11-20T10:06:00+00:00")
    # Its edges: settled once the run ended, whatever an older view says.
    writer.write([EdgeUpsert(type="READ", start=RUN, end=SRC, props={"provisional": True})])
    (record,) = empty_graph.execute_query("MATCH (:Run)-[r:READ]->() RETURN r.provisional AS p").records
    assert record["p"] is False


def test_names_with_cypher_syntax_are_data_not_code(empty_graph: neo4j.Driver) -> None:
    writer = Neo4jGraphWriter(empty_graph)
    writer.ensure_schema()
    evil = "x'}) DETACH DELETE n //"
    writer.write([NodeUpsert(node=ref("Dataset", namespace="db", name=evil)), NodeUpsert(node=JOB)])
    names = {r["n"] for r in empty_graph.execute_query("MATCH (d:Dataset) RETURN d.name AS n").records}
    assert names == {evil}
    assert graph_shape(empty_graph)[0] == {"Dataset": 1, "Job": 1}


def _facets(driver: neo4j.Driver) -> dict[str, str]:
    (record,) = driver.execute_query("MATCH (j:Job) RETURN properties(j) AS p").records
    return {k: v for k, v in record["p"].items() if k not in ("namespace", "name")}


def test_each_versioned_property_keeps_its_latest_version_whatever_the_write_order(empty_graph: neo4j.Driver) -> None:
    """Three sources describe one job; each write is its own batch, in every order."""

    def versions(**facets: tuple[str, str | None]) -> NodeUpsert:
        return NodeUpsert(node=JOB, versioned={n: Versioned(stamp=s, value=v) for n, (s, v) in facets.items()})

    writes = [
        versions(
            sql=("2026-01-01T00:00:00.000000|1|aa", '{"q": "old"}'), owner=("2026-01-01T00:00:00.000000|1|aa", '"a"')
        ),
        versions(sql=("2026-01-02T00:00:00.000000|3|bb", '{"q": "new"}')),
        # Deleted after it was set: the tombstone wins and an older write cannot bring it back.
        versions(owner=("2026-01-03T00:00:00.000000|0|cc", None), tags=("2026-01-01T00:00:00.000000|0|dd", '["pii"]')),
    ]
    expected = {
        "sql": '{"q": "new"}',
        "_stamp_sql": "2026-01-02T00:00:00.000000|3|bb",
        "_stamp_owner": "2026-01-03T00:00:00.000000|0|cc",
        "tags": '["pii"]',
        "_stamp_tags": "2026-01-01T00:00:00.000000|0|dd",
    }
    writer = Neo4jGraphWriter(empty_graph)
    writer.ensure_schema()
    for order in itertools.permutations(writes):
        empty_graph.execute_query("MATCH (n) DETACH DELETE n")
        for upsert in order:
            writer.write([upsert])
        assert _facets(empty_graph) == expected
        writer.write(list(order))  # and all again, in one batch: nothing changes
        assert _facets(empty_graph) == expected


def test_fields_and_column_lineage_keep_their_latest_versions_whatever_the_order(empty_graph: neo4j.Driver) -> None:
    target = ref("Dataset", namespace="db", name="orders_clean")
    source = ref("Field", namespace="db", name="orders", field="email")

    def version(stamp: str, kind: str, subtype: str) -> FieldsUpsert:
        return FieldsUpsert(
            dataset=target,
            fields=[FieldVersion(name="email_hash", stamp=stamp, type=kind)],
            derived=[Derivation(field="email_hash", source=source, stamp=stamp, types=["DIRECT"], subtypes=[subtype])],
        )

    older, newer = version("2026-01-01|1|aa", "STRING", "IDENTITY"), version("2026-01-02|3|bb", "BYTES", "HASH")
    writer = Neo4jGraphWriter(empty_graph)
    writer.ensure_schema()
    results = []
    for order in ([older, newer], [newer, older], [newer, older, newer]):
        empty_graph.execute_query("MATCH (n) DETACH DELETE n")
        for upsert in order:
            writer.write([upsert])
        (record,) = empty_graph.execute_query(
            "MATCH (t:Dataset)-[:HAS_FIELD]->(o:Field)-[r:DERIVED_FROM]->(i:Field)<-[:HAS_FIELD]-(s:Dataset) "
            "RETURN t.name AS t, o.field AS o, o.type AS type, r.subtypes AS subtypes, r.types AS types, "
            "i.field AS i, s.name AS s"
        ).records
        results.append(record.data())
        assert graph_shape(empty_graph) == ({"Dataset": 2, "Field": 2}, {"HAS_FIELD": 2, "DERIVED_FROM": 1})
    assert (
        results
        == [
            {
                "t": "orders_clean",
                "o": "email_hash",
                "type": "BYTES",
                "subtypes": ["HASH"],
                "types": ["DIRECT"],
                "i": "email",
                "s": "orders",
            }
        ]
        * 3
    )


def test_job_usage_edges_aggregate_runs_whatever_the_order_and_repeats(empty_graph: neo4j.Driver) -> None:
    job, table = ref("Job", namespace="airflow", name="dag.load"), ref("Dataset", namespace="db", name="orders")

    def run(n: int, first: str, last: str) -> list[AnyMutation]:
        run_ref = ref("Run", runId=f"00000000-0000-4000-8000-00000000000{n}")
        return [
            EdgeUpsert(type="INSTANCE_OF", start=run_ref, end=job),
            EdgeUpsert(type="READ", start=run_ref, end=table),
            UsageUpsert(
                type="CONSUMES", job=job, dataset=table, runId=run_ref.key["runId"], firstSeen=first, lastSeen=last
            ),
        ]

    runs = [
        run(1, "2026-11-20T01:00:00+00:00", "2026-11-20T01:05:00+00:00"),
        run(2, "2026-11-21T01:00:00+00:00", "2026-11-21T01:09:00+00:00"),
        run(3, "2026-11-19T23:00:00+00:00", "2026-11-20T00:10:00+00:00"),
    ]
    writer = Neo4jGraphWriter(empty_graph)
    writer.ensure_schema()
    for order in ([0, 1, 2], [2, 1, 0], [1, 0, 2, 1, 0]):
        empty_graph.execute_query("MATCH (n) DETACH DELETE n")
        for i in order:
            writer.write(runs[i])
        writer.write([m for r in runs for m in r])  # and all again in one batch
        (edge,) = empty_graph.execute_query(
            "MATCH (:Job)-[c:CONSUMES]->(:Dataset) RETURN c.runCount AS n, c.firstSeen AS first, "
            "c.lastSeen AS last, c.lastRunId AS run"
        ).records
        assert edge["n"] == 3
        assert edge["first"].to_native().isoformat() == "2026-11-19T23:00:00+00:00"
        assert edge["last"].to_native().isoformat() == "2026-11-21T01:09:00+00:00"
        assert edge["run"] == "00000000-0000-4000-8000-000000000002"


def test_run_count_is_kept_incrementally_and_an_edge_counted_the_old_way_is_counted_again_once(
    empty_graph: neo4j.Driver,
) -> None:
    job, table = ref("Job", namespace="airflow", name="dag.load"), ref("Dataset", namespace="db", name="orders")

    def run(n: int) -> list[AnyMutation]:
        run_ref = ref("Run", runId=f"00000000-0000-4000-8000-00000000000{n}")
        at = f"2026-11-2{n}T01:00:00+00:00"
        return [
            EdgeUpsert(type="INSTANCE_OF", start=run_ref, end=job),
            EdgeUpsert(type="WROTE", start=run_ref, end=table),
            UsageUpsert(type="PRODUCES", job=job, dataset=table, runId=run_ref.key["runId"], firstSeen=at, lastSeen=at),
        ]

    def count() -> int:
        (record,) = empty_graph.execute_query("MATCH (:Job)-[c:PRODUCES]->(:Dataset) RETURN c.runCount AS n").records
        return int(record["n"])

    writer = Neo4jGraphWriter(empty_graph)
    writer.ensure_schema()
    writer.write(run(1) + run(2))
    writer.write(run(2))  # a run's row again (a redelivery): counted once
    assert count() == 2
    # A graph an older version wrote: the count recounted on every write, no marks.
    empty_graph.execute_query("MATCH ()-[e]->() REMOVE e._counted, e._counting")
    writer.write(run(3))
    assert count() == 3
    writer.write(run(1) + run(3))
    assert count() == 3
    (marked,) = empty_graph.execute_query(
        "MATCH (:Run)-[e:WROTE]->() RETURN count(e) AS all, count(e._counted) AS counted"
    ).records
    assert marked["all"] == marked["counted"] == 3
