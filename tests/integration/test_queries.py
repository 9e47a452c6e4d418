"""The queries (library and CLI) on a graph the whole pipeline built from a realistic workload.

Day 1: an Airflow DAG's task launches a Spark job that cleans orders from Postgres into a lake
path (whose symlink names a Hive table, with column lineage: email hashed); dbt models read the
Hive table into two marts (one copies the hashed email on); a dashboard reads one mart. Day 2: an
upstream sync fails; the DAG runs again, and its task's Spark job fails (out of memory), failing
the task and the DAG; then the dbt model fails; a later Spark failure comes after it and is no
cause; a hand-run backfill with a run id of text fails too.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import neo4j
import pytest
from starlette.testclient import TestClient

from lineage.settings import Settings
from producers.publisher import EventPublisher
from producers.topics import ensure_topics
from queries.http_api import create_api
from queries.lineage_queries import Node, downstream, runs_of_job, upstream
from queries.lookup import NotFound
from queries.root_cause import root_cause
from queries.search import RANKS
from stream_processor.app import all_topics
from tests.integration.components import isolated_settings, logs, running, settings_env, wait_for
from tests.integration.services import lineage_command
from tests.integration.workloads import settled

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/spark"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
ORDERS = {"namespace": "postgres://db:5432", "name": "shop.public.orders"}
LAKE = {"namespace": "s3a://lake/", "name": "/warehouse/orders_clean/"}  # normalised: s3://lake
HIVE = {"namespace": "hive://metastore:9083", "name": "warehouse.orders_clean"}
DAILY = {"namespace": "postgres://warehouse:5432", "name": "analytics.public.orders_daily"}
CUSTOMERS = {"namespace": "postgres://warehouse:5432", "name": "analytics.public.customers"}
DASHBOARD = {"namespace": "looker://prod", "name": "dashboards.revenue"}
CRM = {"namespace": "postgres://db:5432", "name": "shop.public.customers"}
# Fixed ids: examples/events/shop.ndjson holds these events, and the docs' examples name these runs.
RUN = {
    k: str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://example.com/lineage/shop/{k}"))
    for k in (
        "dag",
        "task",
        "spark1",
        "dbt1",
        "crm1",
        "cust1",
        "look1",
        "sync2",
        "crm2",
        "crm3",
        "spark2",
        "dbt2",
        "cust2",
        "spark3",
        "dag2",
        "task2",
    )
}
RUN["backfill"] = "manual-backfill-42"  # a run id of text, as some producers send


def event(kind: str, run: str, job: tuple[str, str], at: str, inputs: list[Any] = (), outputs: list[Any] = (),
          parent: str | None = None, error: str | None = None) -> dict[str, Any]:  # fmt: skip
    facets: dict[str, Any] = {}
    if parent:
        facets["parent"] = {"run": {"runId": RUN[parent]}, "job": {"namespace": "airflow", "name": "etl_daily"}}
    if error:
        facets["errorMessage"] = {"message": error, "programmingLanguage": "JAVA"}
    return {
        "eventType": kind,
        "eventTime": at,
        "run": {"runId": RUN[run], "facets": facets},
        "job": {"namespace": job[0], "name": job[1]},
        "inputs": list(inputs),
        "outputs": list(outputs),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }


def lake_output() -> dict[str, Any]:
    lineage = {
        "email_hash": {
            "inputFields": [
                {
                    **ORDERS,
                    "field": "email",
                    "transformations": [{"type": "DIRECT", "subtype": "HASH", "masking": True}],
                }
            ]
        },
        "order_id": {
            "inputFields": [
                {**ORDERS, "field": "order_id", "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}
            ]
        },
    }
    return {
        **LAKE,
        "facets": {
            "symlinks": {"identifiers": [{**HIVE, "type": "TABLE"}]},
            "schema": {"fields": [{"name": "order_id", "type": "BIGINT"}, {"name": "email_hash", "type": "STRING"}]},
            "columnLineage": {"fields": lineage},
        },
    }


def crm(*columns: str) -> dict[str, Any]:
    """The customers table as a sync wrote it: these columns, with descriptions that change daily."""
    fields = [{"name": c, "type": "VARCHAR", "description": f"synced {len(columns)}"} for c in columns]
    return {**CRM, "facets": {"schema": {"fields": fields}}}


def mart(dataset: dict[str, Any], lineage: dict[str, Any] | None = None) -> dict[str, Any]:
    facets: dict[str, Any] = {"ownership": {"owners": [{"name": "team:analytics", "type": "TEAM"}]}}
    if lineage:
        facets["columnLineage"] = {"fields": lineage}
    return {**dataset, "facets": facets}


# The daily mart copies the hashed email on: a second hop of column lineage that masks nothing itself.
DAILY_LINEAGE = {
    "email_hash": {
        "inputFields": [
            {"namespace": "s3://lake", "name": "warehouse/orders_clean", "field": "email_hash",
             "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}]}
        ]
    }
}  # fmt: skip


SPARK, DBT_DAILY, DBT_CUST, CRM_SYNC = (
    ("spark", "clean_orders"),
    ("dbt", "analytics.orders_daily"),
    ("dbt", "analytics.customers"),
    ("airbyte", "sync_customers"),
)
EVENTS = [
    event("START", "dag", ("airflow", "etl_daily"), "2026-11-20T01:00:00Z"),
    event("START", "task", ("airflow", "etl_daily.clean_orders"), "2026-11-20T01:01:00Z", parent="dag"),
    event("START", "spark1", SPARK, "2026-11-20T01:02:00Z", inputs=[ORDERS], parent="task"),
    event("COMPLETE", "spark1", SPARK, "2026-11-20T01:19:00Z", inputs=[ORDERS], outputs=[lake_output()], parent="task"),
    event("COMPLETE", "task", ("airflow", "etl_daily.clean_orders"), "2026-11-20T01:20:00Z", parent="dag"),
    event("START", "dbt1", DBT_DAILY, "2026-11-20T01:30:00Z", inputs=[HIVE], outputs=[mart(DAILY)]),
    event("COMPLETE", "dbt1", DBT_DAILY, "2026-11-20T01:40:00Z", inputs=[HIVE], outputs=[mart(DAILY, DAILY_LINEAGE)]),
    event("COMPLETE", "crm1", CRM_SYNC, "2026-11-20T00:40:00Z", outputs=[crm("id", "email")]),
    event("COMPLETE", "cust1", DBT_CUST, "2026-11-20T01:45:00Z", inputs=[HIVE, CRM], outputs=[mart(CUSTOMERS)]),
    event(
        "COMPLETE",
        "look1",
        ("looker", "revenue_dashboard"),
        "2026-11-20T03:00:00Z",
        inputs=[DAILY],
        outputs=[DASHBOARD],
    ),
    event("COMPLETE", "dag", ("airflow", "etl_daily"), "2026-11-20T02:00:00Z"),
    # Day 2: failures.
    event(
        "FAIL", "sync2", ("airbyte", "sync_orders"), "2026-11-21T00:30:00Z", outputs=[ORDERS], error="source timed out"
    ),
    # A late sync on day 1 reports no schema (no baseline, no change); on day 2 the sync renames a
    # column (a schema change, though the run succeeds).
    event("COMPLETE", "crm3", CRM_SYNC, "2026-11-20T23:00:00Z", outputs=[CRM]),
    event("COMPLETE", "crm2", CRM_SYNC, "2026-11-21T00:40:00Z", outputs=[crm("id", "email_address")]),
    event("START", "dag2", ("airflow", "etl_daily"), "2026-11-21T01:00:00Z"),
    event("START", "task2", ("airflow", "etl_daily.clean_orders"), "2026-11-21T01:01:00Z", parent="dag2"),
    event("START", "spark2", SPARK, "2026-11-21T01:02:00Z", inputs=[ORDERS], parent="task2"),
    event(
        "FAIL",
        "spark2",
        SPARK,
        "2026-11-21T01:05:00Z",
        inputs=[ORDERS],
        outputs=[LAKE],
        parent="task2",
        error="OutOfMemoryError",
    ),
    event("FAIL", "task2", ("airflow", "etl_daily.clean_orders"), "2026-11-21T01:06:00Z", parent="dag2"),
    event("FAIL", "dag2", ("airflow", "etl_daily"), "2026-11-21T01:07:00Z"),
    event("START", "dbt2", DBT_DAILY, "2026-11-21T01:30:00Z", inputs=[HIVE], outputs=[mart(DAILY)]),
    event("FAIL", "dbt2", DBT_DAILY, "2026-11-21T01:31:00Z", inputs=[HIVE], outputs=[mart(DAILY)], error="stale input"),
    event(
        "FAIL",
        "cust2",
        DBT_CUST,
        "2026-11-21T01:50:00Z",
        inputs=[HIVE, CRM],
        outputs=[mart(CUSTOMERS)],
        error="column email does not exist",
    ),
    event("FAIL", "spark3", SPARK, "2026-11-21T03:00:00Z", inputs=[ORDERS], outputs=[LAKE], error="later"),
    event("FAIL", "backfill", ("scripts", "backfill_orders"), "2026-11-21T02:00:00Z", inputs=[ORDERS]),
]
LAKE_KEY = ("s3://lake", "warehouse/orders_clean")


@pytest.fixture(scope="module")
def graph_settings(tmp_path_factory: pytest.TempPathFactory, services: Any) -> Settings:
    return isolated_settings(services, "q", tmp_path_factory.mktemp("queries-home"))


@pytest.fixture(scope="module")
def graph(
    neo4j_driver: neo4j.Driver, graph_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> neo4j.Driver:
    """The graph the processor and sink build from EVENTS (built once for this module)."""
    settings, tmp = graph_settings, tmp_path_factory.mktemp("queries")
    neo4j_driver.execute_query("MATCH (n) DETACH DELETE n")
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    with running(settings, "process", "sink", log_dir=tmp / "logs") as procs:
        with EventPublisher(settings.kafka_bootstrap, settings.events_topic) as publisher:
            publisher.publish(EVENTS)
        wait_for(
            lambda: (
                len(neo4j_driver.execute_query("MATCH (r:Run) WHERE r.state IS NOT NULL RETURN r").records) == len(RUN)
            ),
            120,
            "every run in Neo4j",
            lambda: logs(tmp / "logs"),
            procs,
        )
        settled(neo4j_driver)
    return neo4j_driver


def names(nodes: list[Node]) -> list[tuple[int, str, str]]:
    return [(n.hops, n.namespace, n.name) for n in nodes]


def test_downstream_of_a_table_crosses_the_path_table_alias(graph: neo4j.Driver) -> None:
    found = downstream(graph, **ORDERS, depth=5)
    assert names(found.datasets) == [
        (1, "hive://metastore:9083", "warehouse.orders_clean"),
        (1, *LAKE_KEY),
        (2, "postgres://warehouse:5432", "analytics.public.customers"),
        (2, "postgres://warehouse:5432", "analytics.public.orders_daily"),
        (3, "looker://prod", "dashboards.revenue"),
    ]
    assert names(found.jobs) == [
        (1, "scripts", "backfill_orders"),
        (1, "spark", "clean_orders"),
        (2, "dbt", "analytics.customers"),
        (2, "dbt", "analytics.orders_daily"),
        (3, "looker", "revenue_dashboard"),
    ]
    assert {n.name: n.owners for n in found.datasets}["analytics.public.orders_daily"] == ["team:analytics"]


def test_downstream_is_bounded_by_depth_and_by_since(graph: neo4j.Driver) -> None:
    assert max(n.hops for n in downstream(graph, **ORDERS, depth=2).datasets) == 2
    recent = downstream(graph, **ORDERS, depth=5, since=datetime(2026, 11, 21, tzinfo=UTC))
    assert [n.name for n in recent.datasets] == [
        "warehouse.orders_clean",
        "warehouse/orders_clean",
        "analytics.public.customers",
        "analytics.public.orders_daily",
    ]
    assert [n.name for n in recent.jobs] == [
        "backfill_orders",
        "clean_orders",
        "analytics.customers",
        "analytics.orders_daily",
    ]


def test_downstream_of_a_column_follows_column_lineage_and_says_where_it_is_masked(graph: neo4j.Driver) -> None:
    found = downstream(graph, **ORDERS, depth=3, field_name="email")
    assert [(f.hops, f.namespace, f.name, f.field) for f in found.fields] == [
        (1, *LAKE_KEY, "email_hash"),
        (2, *DAILY.values(), "email_hash"),
    ]
    hashed, copied = (f.step for f in found.fields)
    assert hashed == {
        "from": {**ORDERS, "field": "email"},
        "types": ["DIRECT"],
        "subtypes": ["HASH"],
        "masking": True,
        "masked": True,
    }
    assert copied == {
        "from": {"namespace": "s3://lake", "name": "warehouse/orders_clean", "field": "email_hash"},
        "types": ["DIRECT"],
        "subtypes": ["IDENTITY"],
        "masking": False,  # this step copies
        "masked": True,  # an earlier one hashed it
    }


def test_upstream_of_a_mart_and_of_a_failed_run(graph: neo4j.Driver) -> None:
    found = upstream(graph, **DAILY, depth=5)
    assert names(found.datasets) == [
        (1, "hive://metastore:9083", "warehouse.orders_clean"),
        (1, *LAKE_KEY),
        (2, "postgres://db:5432", "shop.public.orders"),
    ]
    assert names(found.jobs) == [
        (1, "dbt", "analytics.orders_daily"),  # writes the mart
        (2, "spark", "clean_orders"),  # writes what the mart reads
        (3, "airbyte", "sync_orders"),  # writes what that reads
    ]
    of_run = upstream(graph, run_id=RUN["dbt2"], depth=5)
    assert names(of_run.datasets)[0] == (0, "hive://metastore:9083", "warehouse.orders_clean")
    assert (1, "postgres://db:5432", "shop.public.orders") in names(of_run.datasets)


def test_root_cause_of_the_failed_dbt_run_is_the_spark_failure_then_the_sync(graph: neo4j.Driver) -> None:
    causes = root_cause(graph, RUN["dbt2"], depth=5)
    assert [(c.hops, c.runId, c.job["name"], c.reasons, c.errorMessage) for c in causes] == [
        (1, RUN["spark2"], "clean_orders", ["FAILED"], "OutOfMemoryError"),
        (2, RUN["sync2"], "sync_orders", ["FAILED"], "source timed out"),
    ]
    assert causes[0].dataset == {"namespace": "s3://lake", "name": "warehouse/orders_clean"}
    assert {c.relation for c in causes} == {"upstream"}
    assert root_cause(graph, RUN["dbt1"], depth=5) == []  # day 1: nothing had failed; spark3 came later


def test_root_cause_of_a_failed_dag_run_names_its_failed_children_then_what_failed_them(graph: neo4j.Driver) -> None:
    causes = root_cause(graph, RUN["dag2"], depth=5)
    assert [(c.hops, c.relation, c.runId, c.job["name"], c.reasons, c.via, c.errorMessage) for c in causes] == [
        (1, "child", RUN["task2"], "etl_daily.clean_orders", ["FAILED"], [], None),
        (2, "child", RUN["spark2"], "clean_orders", ["FAILED"], [RUN["task2"]], "OutOfMemoryError"),
        # what failed the Spark job: the sync of its input, one hop further up
        (3, "upstream", RUN["sync2"], "sync_orders", ["FAILED"], [RUN["task2"], RUN["spark2"]], "source timed out"),
    ]
    assert causes[0].dataset is None and causes[2].dataset == ORDERS
    # the task run is explained the same way, one level nearer
    of_task = root_cause(graph, RUN["task2"], depth=5)
    assert [(c.hops, c.runId) for c in of_task] == [(1, RUN["spark2"]), (2, RUN["sync2"])]
    # children are looked for depth levels down
    assert [c.runId for c in root_cause(graph, RUN["dag2"], depth=1)] == [RUN["task2"]]
    assert root_cause(graph, RUN["dag"], depth=5) == []  # day 1: every child completed


def test_a_run_id_of_text_finds_its_run(graph: neo4j.Driver) -> None:
    causes = root_cause(graph, "manual-backfill-42", depth=5)
    assert [(c.hops, c.runId, c.reasons) for c in causes] == [(1, RUN["sync2"], ["FAILED"])]
    (run,) = runs_of_job(graph, "scripts", "backfill_orders")
    assert run["sentRunId"] == "manual-backfill-42"
    assert upstream(graph, run_id="manual-backfill-42").start == {"runId": run["runId"]}


def test_datasets_are_found_by_any_spelling_the_naming_rules_join(graph: neo4j.Driver) -> None:
    expected = names(downstream(graph, **ORDERS, depth=5).datasets)
    for namespace, name in [
        ("postgresql://DB", "shop.public.orders"),
        ("POSTGRES://db:5432/", " shop.public.orders"),
        ("postgresql://DB/shop.public.orders", None),  # one string, as people paste it
    ]:
        found = downstream(graph, namespace, name, depth=5)
        assert found.start == ORDERS and names(found.datasets) == expected, (namespace, name)
    assert names(upstream(graph, "s3a://lake/", "/warehouse/orders_clean/", depth=1).datasets) == [
        (1, "postgres://db:5432", "shop.public.orders")
    ]


def test_an_unknown_dataset_names_the_spelling_looked_for_and_similar_names(graph: neo4j.Driver) -> None:
    with pytest.raises(NotFound) as info:
        downstream(graph, "postgresql://DB", "shop.public.ordrs")
    assert info.value.headline == (
        "dataset postgresql://DB/shop.public.ordrs is not in the graph (looked for as postgres://db:5432/shop.public.ordrs)"
    )
    assert info.value.looked_for == {"namespace": "postgres://db:5432", "name": "shop.public.ordrs"}
    assert info.value.similar[0] == ORDERS
    assert 1 <= len(info.value.similar) <= 5
    # the right table in the wrong database
    with pytest.raises(NotFound) as info:
        downstream(graph, "postgres://db2:5432", "shop.public.orders")
    assert info.value.similar[0] == ORDERS
    with pytest.raises(NotFound) as info:
        downstream(graph, **ORDERS, field_name="emial")
    assert "its columns include: email" in str(info.value)


def test_root_cause_names_an_upstream_schema_change_of_a_run_that_succeeded(graph: neo4j.Driver) -> None:
    causes = root_cause(graph, RUN["cust2"], depth=5)
    assert [(c.hops, c.runId, c.state, c.reasons, c.dataset["name"]) for c in causes] == [
        (1, RUN["spark2"], "FAILED", ["FAILED"], "warehouse/orders_clean"),  # ended 01:05
        (1, RUN["crm2"], "COMPLETED", ["SCHEMA_CHANGED"], "shop.public.customers"),  # ended 00:40
        (2, RUN["sync2"], "FAILED", ["FAILED"], "shop.public.orders"),
    ]
    assert root_cause(graph, RUN["cust1"], depth=5) == []
    # only each dataset's latest write: crm2 is still compared with crm1, outside that window and
    # behind the schema-less crm3
    latest = root_cause(graph, RUN["cust2"], depth=1, recent=1)
    assert [c.runId for c in latest] == [RUN["spark2"], RUN["crm2"], RUN["sync2"]]


def test_runs_of_a_job_latest_first(graph: neo4j.Driver) -> None:
    runs = runs_of_job(graph, *SPARK)
    assert [(r["runId"], r["state"]) for r in runs] == [
        (RUN["spark3"], "FAILED"), (RUN["spark2"], "FAILED"), (RUN["spark1"], "COMPLETED")
    ]  # fmt: skip
    with pytest.raises(NotFound) as info:
        runs_of_job(graph, "spark", "clean_order")
    assert info.value.similar[0] == {"namespace": "spark", "name": "clean_orders"}


def test_unknown_things_are_reported_not_crashed_on(graph: neo4j.Driver) -> None:
    with pytest.raises(NotFound, match="dataset db/nope is not in the graph"):
        downstream(graph, "db", "nope")
    with pytest.raises(ValueError, match="depth must be between 1 and 20"):
        downstream(graph, **ORDERS, depth=50)


def test_the_cli_answers_the_same_in_json(graph: neo4j.Driver, graph_settings: Settings) -> None:
    env = settings_env(graph_settings)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(lineage_command(*args), env=env, capture_output=True, text=True, timeout=120)

    def cli(*args: str) -> Any:
        done = run(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    impact = cli("impact", ORDERS["namespace"], ORDERS["name"], "--depth", "2", "--json")
    assert [d["name"] for d in impact["datasets"]][-1] == "analytics.public.orders_daily"
    assert cli("impact", "postgresql://DB/shop.public.orders", "--depth", "2", "--json") == impact
    causes = cli("root-cause", RUN["dbt2"], "--json")
    assert [c["runId"] for c in causes] == [RUN["spark2"], RUN["sync2"]]
    of_dag = cli("root-cause", RUN["dag2"], "--json")
    assert [(c["relation"], c["runId"]) for c in of_dag] == [
        ("child", RUN["task2"]), ("child", RUN["spark2"]), ("upstream", RUN["sync2"])
    ]  # fmt: skip
    runs = cli("runs", *SPARK, "--limit", "2", "--json")
    assert [r["runId"] for r in runs] == [RUN["spark3"], RUN["spark2"]]

    text = run("impact", "db", "nope")
    assert text.returncode == 1 and "dataset db/nope is not in the graph" in text.stdout
    typo = run("impact", "postgresql://DB/shop.public.ordrs")
    assert typo.returncode == 1
    assert typo.stdout.splitlines()[:3] == [
        "lineage: dataset postgresql://DB/shop.public.ordrs is not in the graph "
        "(looked for as postgres://db:5432/shop.public.ordrs)",
        "similar names in the graph:",
        "  postgres://db:5432  shop.public.orders",
    ]
    tree = run("root-cause", RUN["dag2"])
    assert tree.returncode == 0
    assert re.search(r"^hop 2  FAILED +child +spark/clean_orders  run " + RUN["spark2"], tree.stdout, re.M)
    assert "error: OutOfMemoryError" in tree.stdout and f"via run {RUN['task2']}" in tree.stdout
    column = run("impact", *ORDERS.values(), "--field", "email")
    assert "shop.public.orders.email (DIRECT/HASH; MASKED here)" in column.stdout
    assert "warehouse/orders_clean.email_hash (DIRECT/IDENTITY; masked earlier)" in column.stdout
    listing = run("runs", *SPARK)
    assert listing.stdout.splitlines()[0] == "runs of spark/clean_orders, latest first"
    assert (
        re.search(r"^  FAILED +" + RUN["spark2"], listing.stdout, re.M) and "error: OutOfMemoryError" in listing.stdout
    )


def test_the_http_api_answers_the_same_and_reports_errors(graph: neo4j.Driver) -> None:
    client = TestClient(create_api(graph))
    impact = client.get("/api/v1/impact", params={**ORDERS, "depth": "2"})
    assert impact.status_code == 200
    assert [(d["hops"], d["name"]) for d in impact.json()["datasets"]][-1] == (2, "analytics.public.orders_daily")
    column = client.get("/api/v1/impact", params={**ORDERS, "field": "email"}).json()
    assert [(f["name"], f["field"], f["step"]["masking"]) for f in column["fields"]] == [
        ("warehouse/orders_clean", "email_hash", True),
        ("analytics.public.orders_daily", "email_hash", False),
    ]
    causes = client.get("/api/v1/root-cause", params={"runId": RUN["dbt2"]}).json()
    assert [c["runId"] for c in causes] == [RUN["spark2"], RUN["sync2"]]
    up = client.get("/api/v1/upstream", params={"runId": RUN["dbt2"]}).json()
    assert up["datasets"][0]["name"] == "warehouse.orders_clean"
    runs = client.get("/api/v1/job-runs", params={"namespace": SPARK[0], "name": SPARK[1], "limit": "1"}).json()
    assert [r["runId"] for r in runs] == [RUN["spark3"]]
    assert client.get("/api/v1/health").json() == {"status": "ok"}

    missing = client.get("/api/v1/impact", params={"namespace": "db", "name": "nope"})
    assert (missing.status_code, missing.json()["reason"]) == (404, "not-found")
    spelled = client.get("/api/v1/impact", params={"dataset": "postgresql://DB/shop.public.orders", "depth": "2"})
    assert spelled.json() == impact.json()
    typo = client.get("/api/v1/upstream", params={"namespace": "postgresql://DB", "name": "shop.public.ordrs"})
    assert typo.status_code == 404
    assert typo.json()["lookedFor"] == {"namespace": "postgres://db:5432", "name": "shop.public.ordrs"}
    assert typo.json()["similar"][0] == ORDERS
    of_text_id = client.get("/api/v1/root-cause", params={"runId": "manual-backfill-42"}).json()
    assert [c["runId"] for c in of_text_id] == [RUN["sync2"]]
    unknown_run = client.get("/api/v1/root-cause", params={"runId": "no-such-run"})
    assert unknown_run.status_code == 404 and "run no-such-run is not in the graph" in unknown_run.json()["message"]
    for params in (
        {"namespace": "db"},
        {},
        {"dataset": "orders"},
        {**ORDERS, "depth": "50"},
        {**ORDERS, "depth": "x"},
        {**ORDERS, "since": "y"},
    ):
        bad = client.get("/api/v1/impact", params=params)
        assert (bad.status_code, bad.json()["reason"]) == (400, "bad-request"), params


def node_names(body: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(n["kind"], n["name"], n["hops"]) for n in body["nodes"]}


def test_search_ranks_exact_then_prefix_then_substring_over_datasets_jobs_and_columns(graph: neo4j.Driver) -> None:
    client = TestClient(create_api(graph))
    found = client.get("/api/v1/search", params={"q": "Orders"}).json()["results"]
    assert found[0] == {"kind": "dataset", **ORDERS, "field": None, "match": "exact"}
    ranks = [RANKS[f["match"]] for f in found]
    assert ranks == sorted(ranks)
    shown = {(f["kind"], f["name"], f["match"]) for f in found}
    assert {
        ("job", "clean_orders", "prefix"),
        ("job", "sync_orders", "prefix"),
        ("dataset", "analytics.public.orders_daily", "prefix"),
        ("dataset", "warehouse/orders_clean", "prefix"),
    } <= shown
    columns = client.get("/api/v1/search", params={"q": "emai"}).json()["results"]
    assert {(c["name"], c["field"]) for c in columns if c["kind"] == "column"} >= {
        ("shop.public.customers", "email"),
        ("shop.public.customers", "email_address"),
        (LAKE_KEY[1], "email_hash"),
    }
    assert all(c["match"] == "prefix" for c in columns)
    # Part of a word, across a dot and an underscore, with digits: what the index keeps together.
    dotted = client.get("/api/v1/search", params={"q": "public.orders_d"}).json()["results"]
    assert [(f["name"], f["match"]) for f in dotted] == [("analytics.public.orders_daily", "substring")]
    numbered = client.get("/api/v1/search", params={"q": "dashboard_0"}).json()["results"]
    assert numbered == []  # no such job in this graph: "dashboard" alone would match the revenue one
    assert [f["name"] for f in client.get("/api/v1/search", params={"q": "revenue"}).json()["results"]][:2] == [
        "dashboards.revenue",
        "revenue_dashboard",
    ]
    part = client.get("/api/v1/search", params={"q": "daily", "limit": "50"}).json()["results"]
    assert ("dataset", "analytics.public.orders_daily", "prefix") in {(f["kind"], f["name"], f["match"]) for f in part}
    assert client.get("/api/v1/search", params={"q": "zzqx"}).json()["results"] == []
    for params in ({}, {"q": " "}, {"q": "x", "limit": "0"}):
        bad = client.get("/api/v1/search", params=params)
        assert (bad.status_code, bad.json()["reason"]) == (400, "bad-request"), params


def test_the_neighbourhood_walks_steps_crosses_aliases_and_collapses_past_the_limit(graph: neo4j.Driver) -> None:
    client = TestClient(create_api(graph))
    down = client.get("/api/v1/lineage", params={"kind": "dataset", **ORDERS, "depth": "2", "direction": "downstream"})
    body = down.json()
    assert node_names(body) == {
        ("dataset", "shop.public.orders", 0),
        ("job", "clean_orders", 1),
        ("job", "backfill_orders", 1),
        ("dataset", "warehouse/orders_clean", 2),
        ("dataset", "warehouse.orders_clean", 2),  # the path's table, beside it
    }
    by_name = {n["name"]: n for n in body["nodes"]}
    ids = {n["name"]: n["id"] for n in body["nodes"]}
    assert {(e["type"], e["source"], e["target"]) for e in body["edges"]} == {
        ("CONSUMES", ids["shop.public.orders"], ids["clean_orders"]),
        ("CONSUMES", ids["shop.public.orders"], ids["backfill_orders"]),
        ("PRODUCES", ids["clean_orders"], ids["warehouse/orders_clean"]),
        ("ALIAS_OF", ids["warehouse/orders_clean"], ids["warehouse.orders_clean"]),
    }
    assert body["center"] == ids["shop.public.orders"] and body["collapsed"] == []
    # The job's latest run at a glance: spark3 failed last.
    latest = by_name["clean_orders"]["latestRun"]
    assert (latest["runId"], latest["state"], latest["errorMessage"]) == (RUN["spark3"], "FAILED", "later")
    assert by_name["backfill_orders"]["latestRun"]["state"] == "FAILED"
    # The CRM table's latest write renamed a column; the orders table's writes said no schema.
    crm_table = client.get("/api/v1/lineage", params={"kind": "dataset", **CRM, "depth": "1"}).json()
    crm_node = next(n for n in crm_table["nodes"] if n["name"] == CRM["name"])
    assert crm_node["schemaChanged"] is True and crm_node["lastWrittenAt"].startswith("2026-11-21T00:40")
    assert by_name["shop.public.orders"]["schemaChanged"] is False

    # Deeper, across the alias: the dbt models read the Hive name of the lake path.
    deep = client.get("/api/v1/lineage", params={"kind": "dataset", **ORDERS, "depth": "4", "direction": "downstream"})
    assert {("job", "analytics.orders_daily", 3), ("dataset", "analytics.public.orders_daily", 4)} <= node_names(
        deep.json()
    )
    up = client.get("/api/v1/lineage", params={"kind": "job", "namespace": "dbt", "name": "analytics.orders_daily",
                                                "depth": "1", "direction": "upstream"}).json()  # fmt: skip
    assert node_names(up) >= {("job", "analytics.orders_daily", 0), ("dataset", "warehouse.orders_clean", 1)}

    one = client.get("/api/v1/lineage", params={"kind": "dataset", **ORDERS, "depth": "1", "limit": "1",
                                                 "direction": "downstream"}).json()  # fmt: skip
    assert len([n for n in one["nodes"] if n["kind"] == "job"]) == 1
    assert [(c["node"], c["side"], c["count"]) for c in one["collapsed"]] == [(one["center"], "downstream", 1)]
    page = client.get("/api/v1/neighbours", params={"kind": "dataset", **ORDERS, "side": "downstream"}).json()
    assert page["total"] == 2 and {n["name"] for n in page["items"]} == {"clean_orders", "backfill_orders"}
    filtered = client.get(
        "/api/v1/neighbours", params={"kind": "dataset", **ORDERS, "side": "downstream", "q": "BACK"}
    ).json()
    assert [n["name"] for n in filtered["items"]] == ["backfill_orders"] and filtered["total"] == 1
    since = client.get("/api/v1/lineage", params={"kind": "dataset", **CRM, "depth": "1", "direction": "downstream",
                                                   "since": "2026-11-21T01:49:00"}).json()  # fmt: skip
    assert node_names(since) == {("dataset", CRM["name"], 0), ("job", "analytics.customers", 1)}
    assert client.get("/api/v1/lineage", params={"kind": "dataset", **CRM, "since": "2030-01-01"}).json()["edges"] == []

    missing = client.get("/api/v1/lineage", params={"kind": "job", "namespace": "spark", "name": "clean_ordrs"})
    assert missing.status_code == 404 and missing.json()["similar"][0] == {"namespace": "spark", "name": "clean_orders"}
    for params in (
        {"kind": "table", **ORDERS},
        {"kind": "dataset", **ORDERS, "depth": "21"},
        {"kind": "dataset", **ORDERS, "direction": "sideways"},
        {"kind": "dataset", **ORDERS, "limit": "0"},
        {"kind": "dataset", "namespace": "x"},
    ):
        bad = client.get("/api/v1/lineage", params=params)
        assert (bad.status_code, bad.json()["reason"]) == (400, "bad-request"), params


def test_details_of_a_dataset_a_job_and_a_run(graph: neo4j.Driver) -> None:
    client = TestClient(create_api(graph))
    lake = client.get("/api/v1/dataset", params=dict(zip(("namespace", "name"), LAKE_KEY, strict=True))).json()
    assert lake["aliases"] == [HIVE]
    assert lake["fields"] == [
        {"name": "email_hash", "type": "STRING", "description": None},
        {"name": "order_id", "type": "BIGINT", "description": None},
    ]
    assert {"schema", "symlinks", "columnLineage"} <= set(lake["facets"])
    assert lake["facets"]["schema"]["fields"][0]["name"] == "order_id"
    daily = client.get("/api/v1/dataset", params=DAILY).json()
    assert daily["owners"] == ["team:analytics"]
    spelled = client.get("/api/v1/dataset", params={"namespace": "s3a://lake/", "name": "/warehouse/orders_clean/"})
    assert spelled.json()["name"] == LAKE_KEY[1]

    job = client.get("/api/v1/job", params={"namespace": SPARK[0], "name": SPARK[1]}).json()
    assert [(r["runId"], r["state"]) for r in job["runs"]] == [
        (RUN["spark3"], "FAILED"),
        (RUN["spark2"], "FAILED"),
        (RUN["spark1"], "COMPLETED"),
    ]
    assert job["runs"][2]["durationSeconds"] == 17 * 60

    run = client.get("/api/v1/run", params={"runId": RUN["spark2"]}).json()
    assert (run["state"], run["errorMessage"], run["job"]) == (
        "FAILED",
        "OutOfMemoryError",
        {"namespace": "spark", "name": "clean_orders"},
    )
    assert run["inputs"] == [ORDERS] and run["outputs"] == [{"namespace": LAKE_KEY[0], "name": LAKE_KEY[1]}]
    assert run["parent"] == {"runId": RUN["task2"], "state": "FAILED",
                             "job": {"namespace": "airflow", "name": "etl_daily.clean_orders"}}  # fmt: skip
    assert run["facets"]["errorMessage"]["message"] == "OutOfMemoryError"
    dag = client.get("/api/v1/run", params={"runId": RUN["dag2"]}).json()
    assert [c["runId"] for c in dag["children"]] == [RUN["task2"]]
    assert client.get("/api/v1/run", params={"runId": "manual-backfill-42"}).json()["sentRunId"] == "manual-backfill-42"
    assert client.get("/api/v1/run", params={"runId": "nope"}).status_code == 404
    assert client.get("/api/v1/job", params={"namespace": "spark", "name": "nope"}).status_code == 404
    assert client.get("/api/v1/dataset", params={"namespace": "db"}).status_code == 400


def test_column_lineage_both_ways_with_transformations_and_masking(graph: neo4j.Driver) -> None:
    client = TestClient(create_api(graph))
    body = client.get("/api/v1/column-lineage", params={**DAILY, "field": "email_hash"}).json()
    assert [(c["hops"], c["name"], c["field"], c["subtypes"], c["masking"], c["masked"]) for c in body["upstream"]] == [
        (1, LAKE_KEY[1], "email_hash", ["IDENTITY"], False, False),
        (2, ORDERS["name"], "email", ["HASH"], True, True),
    ]
    assert body["upstream"][1]["via"] == {"namespace": LAKE_KEY[0], "name": LAKE_KEY[1], "field": "email_hash"}
    assert body["downstream"] == []
    down = client.get("/api/v1/column-lineage", params={**ORDERS, "field": "email"}).json()
    assert [(c["hops"], c["field"], c["masked"]) for c in down["downstream"]] == [
        (1, "email_hash", True),
        (2, "email_hash", True),
    ]
    assert client.get("/api/v1/column-lineage", params={**ORDERS, "field": "nope"}).status_code == 404


def test_the_explorer_page_is_served_for_any_path_and_says_when_it_is_not_built(
    graph: neo4j.Driver, tmp_path: Path
) -> None:
    built = tmp_path / "dist"
    (built / "assets").mkdir(parents=True)
    (built / "index.html").write_text("<!doctype html><title>Lineage explorer</title>")
    (built / "assets" / "app-1.js").write_text("console.log(1)")
    client = TestClient(create_api(graph, ui_dir=built))
    for path in ("/", "/?kind=dataset&namespace=x&name=y", "/run/abc"):
        page = client.get(path)
        assert (page.status_code, page.text) == (200, "<!doctype html><title>Lineage explorer</title>"), path
    assert client.get("/assets/app-1.js").text == "console.log(1)"
    assert client.get("/assets/missing.js").status_code == 404
    unknown = client.get("/api/v1/nothing-here")
    assert (unknown.status_code, unknown.json()["reason"]) == (404, "not-found")
    bare = TestClient(create_api(graph, ui_dir=tmp_path / "not-built")).get("/")
    assert bare.status_code == 503 and "make ui" in bare.text


def test_with_read_keys_the_api_refuses_a_missing_or_wrong_key_and_answers_the_right_one(
    graph: neo4j.Driver, tmp_path: Path
) -> None:
    built = tmp_path / "dist"
    built.mkdir()
    (built / "index.html").write_text("<!doctype html><title>Lineage explorer</title>")
    client = TestClient(create_api(graph, ui_dir=built, read_keys={"reader-one", "reader-two"}))
    search = {"q": "orders"}
    missing = client.get("/api/v1/search", params=search)
    assert missing.status_code == 401 and missing.json()["reason"] == "missing-api-key"
    assert "Authorization: Bearer <key>" in missing.json()["message"]
    for wrong in ("Bearer nope", "Bearer reader-one2", "Basic cmVhZGVyLW9uZQ==", "reader-one"):
        refused = client.get("/api/v1/search", params=search, headers={"Authorization": wrong})
        assert refused.status_code == 401, wrong
        assert refused.json()["reason"] in ("invalid-api-key", "missing-api-key"), wrong
        assert "results" not in refused.json()
    for key in ("reader-one", "reader-two"):
        found = client.get("/api/v1/search", params=search, headers={"Authorization": f"Bearer {key}"})
        assert found.status_code == 200 and found.json()["results"][0]["name"] == ORDERS["name"]
    lineage = client.get(
        "/api/v1/lineage", params={"kind": "dataset", **ORDERS}, headers={"Authorization": "Bearer reader-one"}
    )
    assert lineage.status_code == 200 and lineage.json()["nodes"]
    assert client.get("/api/v1/lineage", params={"kind": "dataset", **ORDERS}).status_code == 401
    # Open without a key: whether Neo4j is up, and the explorer's files (the page then asks for a key).
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    assert client.get("/").status_code == 200


DOCS = Path(__file__).parents[2]


def cypher_examples() -> list[tuple[str, str]]:
    """(where, query) for every ```cypher block of the README and of every page under docs/."""
    out = []
    for doc in ["README.md", *sorted(p.relative_to(DOCS).as_posix() for p in (DOCS / "docs").glob("*.md"))]:
        text = (DOCS / doc).read_text()
        for i, block in enumerate(re.findall(r"```cypher\n(.*?)```", text, re.S)):
            out.append((f"{doc} #{i + 1}", block))
    return out


def test_every_cypher_example_in_the_docs_runs_on_the_graph(graph: neo4j.Driver) -> None:
    examples = cypher_examples()
    assert len(examples) >= 12
    params = {**ORDERS, "runId": RUN["dbt2"], "job": SPARK[1], "field": "email"}
    answered, empty_here = {}, set()
    for where, query in examples:
        # today's date, no run running, no change to the orders' schema, other names: may be empty
        if any(word in query for word in ("datetime()", "'RUNNING'", "schemaDigest", "-prod", "public.users")):
            empty_here.add(where)
        try:
            records, _, _ = graph.execute_query(query, params, routing_=neo4j.RoutingControl.READ)
        except neo4j.exceptions.Neo4jError as exc:
            pytest.fail(f"{where} fails: {exc.message}\n{query}")
        answered[where] = len(records)
    assert all(n > 0 for where, n in answered.items() if where not in empty_here), answered


def test_the_schema_change_example_finds_the_customers_rename(graph: neo4j.Driver) -> None:
    (query,) = [q for where, q in cypher_examples() if "schemaDigest IS NOT NULL" in q]
    records, _, _ = graph.execute_query(query, CRM, routing_=neo4j.RoutingControl.READ)
    assert [(r["write.run"], r["added"], r["removed"]) for r in records] == [
        (RUN["crm2"], ["email_address: VARCHAR"], ["email: VARCHAR"])
    ]
