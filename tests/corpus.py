"""Hand-written OpenLineage events in the shapes real producers send, each with what it must become.

The shapes come from what other OpenLineage projects send and keep as fixtures: Marquez's seed
data and API fixtures (no top-level ``schemaURL``, a JobEvent with an ``eventType``, a run id
that is no UUID), OpenLineage 1.x clients and integrations (Airflow, Spark, dbt, Flink), and the
odd facets hand-built integrations produce. ``ACCEPTED`` cases must land in the graph with the
leniencies listed; ``REFUSED`` cases must be refused with the reason given, by both doors.

Used by the unit tests (decoding, the schema oracle, the HTTP endpoint) and by the integration
test that sends every case through Kafka and through HTTP into Neo4j.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from lineage.naming import is_uuid, normalize, run_key

PRODUCER_1X = "https://github.com/OpenLineage/OpenLineage/tree/1.9.1/integration/airflow"
SPARK = "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/integration/spark"
DBT = "https://github.com/OpenLineage/OpenLineage/tree/1.18.0/integration/dbt"
FLINK = "https://github.com/OpenLineage/OpenLineage/tree/1.20.0/integration/flink"
SCRIPTS = "https://example.test/scripts"
MARQUEZ_SEED = "https://github.com/MarquezProject/marquez/blob/main/docker/metadata.json"
RUN_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
OLD_RUN_URL = "https://openlineage.io/spec/1-0-5/OpenLineage.json#/definitions/RunEvent"
SCHEMA_FACET = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
PARENT_FACET = "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet"
JOB_TYPE_FACET = "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
ERROR_FACET = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
OWNERSHIP_FACET = "https://openlineage.io/spec/facets/1-0-1/OwnershipJobFacet.json#/$defs/OwnershipJobFacet"
SQL_FACET = "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet"
SYMLINKS_FACET = "https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json#/$defs/SymlinksDatasetFacet"
COLUMNS_FACET = (
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
)


@dataclass(frozen=True)
class Case:
    """One event and what must become of it.

    ``state``: the run's state in the graph (run events); ``reads``/``writes``: the datasets,
    normalised, when they differ from the event's spelling; ``refused``: the reason code, for an
    event that must not be taken (``stricter``: one the spec's schema would take).
    """

    name: str
    event: dict[str, Any]
    leniencies: frozenset[str] = frozenset()
    state: str | None = None
    refused: str | None = None
    reads: list[tuple[str, str]] | None = None
    writes: list[tuple[str, str]] | None = None
    stricter: bool = False  # refused though the spec's schema takes it (a blank name, say)


def _facet(schema_url: str, producer: str = PRODUCER_1X, **fields: Any) -> dict[str, Any]:
    return {"_producer": producer, "_schemaURL": schema_url, **fields}


def _schema(*columns: tuple[str, str], producer: str = PRODUCER_1X, **extra: Any) -> dict[str, Any]:
    return _facet(SCHEMA_FACET, producer, fields=[{"name": n, "type": t, **extra} for n, t in columns])


def _parent(run_id: str, namespace: str, name: str, producer: str = PRODUCER_1X) -> dict[str, Any]:
    return _facet(PARENT_FACET, producer, run={"runId": run_id}, job={"namespace": namespace, "name": name})


def _run(
    event_type: str | None,
    time: str,
    run_id: str,
    job: tuple[str, str],
    producer: str,
    schema_url: str | None = RUN_URL,
    *,
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {"eventTime": time, "producer": producer}
    if event_type is not None:
        event["eventType"] = event_type
    if schema_url is not None:
        event["schemaURL"] = schema_url
    event["run"] = {"runId": run_id, "facets": run_facets or {}}
    event["job"] = {"namespace": job[0], "name": job[1], "facets": job_facets or {}}
    event["inputs"] = inputs or []
    event["outputs"] = outputs or []
    return event


def _ds(namespace: str, name: str, **facets: Any) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, "facets": facets}


ACCEPTED = [
    Case(
        "marquez-seed-run",
        # Marquez's seed data: no schemaURL, schema fields with their own tags, a COMPLETE event
        # carrying the whole run.
        _run(
            "COMPLETE",
            "2024-06-01T02:10:00.000Z",
            "a7a3d59b-48a4-4b0f-8b2c-3c2ff6a9f4a1",
            ("food_delivery", "etl_orders_7_days"),
            MARQUEZ_SEED,
            None,
            job_facets={"sql": _facet(SQL_FACET, MARQUEZ_SEED, query="INSERT INTO orders_7_days SELECT * FROM orders")},
            inputs=[
                _ds(
                    "postgres://food_delivery_db:5432",
                    "public.orders",
                    schema=_schema(("id", "INTEGER"), ("placed_on", "TIMESTAMP"), producer=MARQUEZ_SEED, tags=[]),
                )
            ],
            outputs=[_ds("postgres://food_delivery_db:5432", "public.orders_7_days")],
        ),
        frozenset({"no-schema-url"}),
        state="COMPLETED",
    ),
    Case(
        "marquez-required-only",
        # Marquez's "required fields only" fixture: no eventType, no schemaURL, a run id of text.
        {
            "eventTime": "2024-06-01T03:00:00Z",
            "run": {"runId": "unique-run-id"},
            "job": {"namespace": "marquez-fixtures", "name": "required_only"},
            "producer": "me",
        },
        frozenset({"no-schema-url", "non-uuid-run-id"}),
        state="NEW",
    ),
    Case(
        "marquez-job-event",
        # Marquez's JobEvent fixture: a job, an eventType, no run, a 1.x JobEvent schemaURL.
        {
            "eventType": "COMPLETE",
            "eventTime": "2024-06-01T04:00:00Z",
            "job": {
                "namespace": "marquez-fixtures",
                "name": "declared_job",
                "facets": {"sql": _facet(SQL_FACET, query="SELECT * FROM input_table")},
            },
            "inputs": [{"namespace": "postgres://host:5432", "name": "db.public.input_table"}],
            "outputs": [{"namespace": "postgres://host:5432", "name": "db.public.output_table"}],
            "producer": "https://github.com/OpenLineage/OpenLineage/blob/v1-0-0/client",
            "schemaURL": "https://openlineage.io/spec/1-0-1/OpenLineage.json#/definitions/JobEvent",
        },
        frozenset({"job-event-with-event-type"}),
    ),
    Case(
        "dataset-event-newer-spec",
        # A DatasetEvent claiming a spec version this product has never seen (Marquez's fixture uses 2-8-9).
        {
            "eventTime": "2024-06-01T05:00:00Z",
            "dataset": _ds(
                "postgres://host:5432",
                "db.public.from_the_future",
                schema=_schema(("id", "BIGINT"), ("payload", "JSONB")),
            ),
            "producer": "https://github.com/OpenLineage/OpenLineage/blob/v1-0-0/client",
            "schemaURL": "https://openlineage.io/spec/2-8-9/OpenLineage.json#/definitions/DatasetEvent",
        },
        frozenset({"unknown-spec-version"}),
    ),
    Case(
        "airflow-1x-task",
        # openlineage-airflow 1.x: the task run under its DAG run, no top-level schemaURL, and
        # the integration's own facets, one of them a plain string.
        _run(
            "START",
            "2024-06-01T06:00:01.123456+00:00",
            "3f1c6f5e-2a4e-4c55-9d0b-2f6a8e0c1d21",
            ("airflow-prod", "orders_daily.extract"),
            PRODUCER_1X,
            None,
            run_facets={
                "parent": _parent("9c0b8c07-6b1e-4c3c-a5d4-8f0e0a1b2c3d", "airflow-prod", "orders_daily"),
                "airflow_version": "2.7.3",
                "airflow": {"_producer": PRODUCER_1X, "task": {"operator": "PostgresOperator"}},
            },
            inputs=[_ds("postgresql://DB.example.com", "shop.public.orders")],
        ),
        frozenset({"no-schema-url", "facet-not-an-object", "facet-without-schema-url"}),
        state="RUNNING",
        reads=[("postgres://db.example.com:5432", "shop.public.orders")],
    ),
    Case(
        "spark-nanoseconds",
        # The Spark integration (Java): nanosecond eventTime, symlinks, column lineage.
        _run(
            "COMPLETE",
            "2024-06-01T07:15:42.123456789Z",
            "6b1a2f9c-8d4e-4f0a-b3c2-1d0e9f8a7b6c",
            ("spark-prod", "clean_orders.execute_insert_into_hadoop_fs_relation_command"),
            SPARK,
            run_facets={
                "spark_version": {"_producer": SPARK, "_schemaURL": SPARK + "#SparkVersion", "spark-version": "3.5.1"}
            },
            job_facets={
                "jobType": _facet(JOB_TYPE_FACET, SPARK, processingType="BATCH", integration="SPARK", jobType="JOB")
            },
            inputs=[_ds("s3a://lake/", "/raw/orders")],
            outputs=[
                _ds(
                    "s3a://lake",
                    "warehouse/orders_clean",
                    schema=_schema(("id", "long"), ("email", "string"), producer=SPARK),
                    symlinks=_facet(
                        SYMLINKS_FACET,
                        SPARK,
                        identifiers=[
                            {"namespace": "hive://metastore:9083", "name": "warehouse.orders_clean", "type": "TABLE"}
                        ],
                    ),
                    columnLineage=_facet(
                        COLUMNS_FACET,
                        SPARK,
                        fields={
                            "email": {
                                "inputFields": [
                                    {
                                        "namespace": "s3a://lake",
                                        "name": "raw/orders",
                                        "field": "email",
                                        "transformations": [
                                            {"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}
                                        ],
                                    }
                                ]
                            }
                        },
                    ),
                )
            ],
        ),
        state="COMPLETED",
        reads=[("s3://lake", "raw/orders")],
        writes=[("s3://lake", "warehouse/orders_clean")],
    ),
    Case(
        "dbt-1x-model",
        # dbt-ol: a model run under the dbt run, with its SQL, on a 1.x schemaURL.
        _run(
            "COMPLETE",
            "2024-06-01T08:00:00+02:00",
            "0e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b",
            ("dbt-prod", "analytics.orders_daily"),
            DBT,
            OLD_RUN_URL,
            run_facets={
                "parent": _parent("1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a", "dbt-prod", "dbt-run-analytics", DBT)
            },
            job_facets={
                "sql": _facet(SQL_FACET, DBT, query="select date, count(*) from orders group by 1", dialect="postgres"),
                "jobType": _facet(JOB_TYPE_FACET, DBT, processingType="BATCH", integration="DBT", jobType="MODEL"),
            },
            inputs=[_ds("postgres://warehouse:5432", "analytics.public.orders")],
            outputs=[_ds("postgres://warehouse:5432", "analytics.public.orders_daily")],
        ),
        state="COMPLETED",
    ),
    Case(
        "flink-streaming",
        # The Flink integration: a streaming job's RUNNING checkpoint event, Kafka topics as datasets.
        _run(
            "RUNNING",
            "2024-06-01T09:00:00Z",
            "5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f",
            ("flink-prod", "orders_enricher"),
            FLINK,
            job_facets={
                "jobType": _facet(JOB_TYPE_FACET, FLINK, processingType="STREAMING", integration="FLINK", jobType="JOB")
            },
            inputs=[_ds("kafka://broker-1:9092", "orders")],
            outputs=[_ds("kafka://broker-1:9092", "orders_enriched")],
        ),
        state="RUNNING",
    ),
    Case(
        "lower-case-and-naive",
        # A hand-rolled producer: lower-case eventType, a time without an offset, null inputs.
        {
            "eventType": "complete",
            "eventTime": "2024-06-01T10:00:00",
            "run": {"runId": "7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b", "facets": None},
            "job": {"namespace": "scripts", "name": "nightly_export"},
            "inputs": None,
            "outputs": [{"namespace": "file", "name": "/exports/nightly.csv"}],
            "producer": "https://example.test/scripts",
        },
        frozenset({"nonstandard-event-type", "naive-event-time", "null-field", "no-schema-url"}),
        state="COMPLETED",
    ),
    Case(
        "past-tense-event-type",
        _run(
            "FAILED",
            "2024-06-01T11:00:00Z",
            "8f9a0b1c-2d3e-4f4a-8b5c-6d7e8f9a0b1c",
            ("scripts", "nightly_import"),
            "https://example.test/scripts",
            run_facets={"errorMessage": _facet(ERROR_FACET, message="disk full", programmingLanguage="python")},
        ),
        frozenset({"nonstandard-event-type"}),
        state="FAILED",
    ),
    Case(
        "unknown-event-type",
        _run("RESUME", "2024-06-01T12:00:00Z", "9a0b1c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2d", ("scripts", "resumable"), "x"),
        frozenset({"unknown-event-type"}),
        state="NEW",
    ),
    Case(
        "malformed-known-facets",
        # An owner without a name, a parent whose run id is text, a custom facet without _schemaURL.
        _run(
            "START",
            "2024-06-01T13:00:00Z",
            "a0b1c2d3-e4f5-4a6b-8c7d-8e9f0a1b2c3d",
            ("scripts", "hand_built"),
            "https://example.test/scripts",
            run_facets={
                "parent": _parent("scheduled__2024-06-01T00:00:00+00:00", "scripts", "scheduler"),
                "custom_metrics": {"_producer": "https://example.test/scripts", "rows": 12},
            },
            job_facets={"ownership": _facet(OWNERSHIP_FACET, owners=[{"team": "data"}]), "sql": "SELECT 1"},
            outputs=[_ds("postgres://warehouse:5432", "analytics.public.hand_built")],
        ),
        frozenset({"malformed-facet", "non-uuid-run-id", "facet-without-schema-url", "facet-not-an-object"}),
        state="RUNNING",
    ),
    Case(
        "numbers-as-text",
        # A producer that serialises ids and names as numbers: read as their text, as Marquez reads them.
        {
            "eventType": "COMPLETE",
            "eventTime": "2024-06-01T13:30:00Z",
            "run": {"runId": 20240601},
            "job": {"namespace": "scripts", "name": 42},
            "producer": "https://example.test/scripts",
            "schemaURL": RUN_URL,
        },
        frozenset({"scalar-as-text", "non-uuid-run-id"}),
        state="COMPLETED",
    ),
]


DELETE = object()


def changed(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``event`` with fields set or (``DELETE``) removed, by path: ``run__runId=...``."""
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = event
        for p in parents:
            target = target[p]
        if value is DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return event


def _refused(name: str, reason: str, stricter: bool = False, **changes: Any) -> Case:
    event = _run("START", "2024-06-01T14:00:00Z", str(uuid.uuid4()), ("scripts", f"refused_{name}"), SCRIPTS)
    return Case(f"refused-{name}", changed(event, **changes), refused=reason, stricter=stricter)


REFUSED = [
    _refused("no-run-id", "missing-run-id", run={}),
    _refused("null-run", "missing-run-id", run=None),
    _refused("empty-run-id", "missing-run-id", run__runId="  "),
    _refused("object-run-id", "bad-run-id", run__runId={"id": 12345}),
    _refused("no-job", "missing-job", job=DELETE),
    _refused("empty-job-name", "missing-job", stricter=True, job__name=""),
    _refused("blank-job-namespace", "missing-job", stricter=True, job__namespace="  "),
    _refused("job-not-an-object", "missing-job", job="scripts/job"),
    _refused("no-event-time", "bad-event-time", eventTime=DELETE),
    _refused("bad-event-time", "bad-event-time", eventTime="yesterday at noon"),
    _refused("unix-event-time", "bad-event-time", eventTime="1717200000"),
    _refused("out-of-range-event-time", "bad-event-time", stricter=True, eventTime="0001-01-01T00:00:00+01:00"),
    _refused("no-producer", "schema-invalid", producer=DELETE),
    _refused("facets-not-a-map", "schema-invalid", job__facets=["sql"]),
    _refused("nameless-input", "schema-invalid", inputs=[{"namespace": "postgres://db:5432"}]),
    _refused("blank-output-name", "schema-invalid", stricter=True, outputs=[{"namespace": "s3://lake", "name": " "}]),
    Case(
        "refused-run-event-without-run",
        # It says it is a RunEvent; without its run it cannot be placed.
        {
            "eventType": "COMPLETE",
            "eventTime": "2024-06-01T14:00:00Z",
            "job": {"namespace": "scripts", "name": "lost_its_run"},
            "producer": "x",
            "schemaURL": RUN_URL,
        },
        refused="missing-run-id",
    ),
]


# --- a case as one door sends it --------------------------------------------------------------


def for_door(case: Case, door: str) -> dict[str, Any]:
    """The case's event with its run ids, job names and (for a DatasetEvent) dataset name made its
    own and the door's, so that every case sent through each door makes nodes of its own."""
    tag = f"{door}/{case.name}"
    event = copy.deepcopy(case.event)
    run = event.get("run")
    if isinstance(run, dict) and isinstance(run.get("runId"), int):
        run["runId"] = _tagged_number(run["runId"], door)
    if isinstance(run, dict) and isinstance(run.get("runId"), str) and run["runId"].strip():
        run["runId"] = _tagged_run_id(run["runId"], tag)
        parent = (run.get("facets") or {}).get("parent")
        if isinstance(parent, dict) and isinstance(parent.get("run"), dict) and "runId" in parent["run"]:
            parent["run"]["runId"] = _tagged_run_id(parent["run"]["runId"], tag)
    job = event.get("job")
    if isinstance(job, dict) and isinstance(job.get("name"), int):
        job["name"] = _tagged_number(job["name"], door)
    if isinstance(job, dict) and isinstance(job.get("name"), str) and job["name"]:
        job["name"] = f"{job['name']}@{tag}"
    if "run" not in event and isinstance(event.get("dataset"), dict):  # a DatasetEvent
        event["dataset"]["name"] += f"@{tag}"
    return event


def _tagged_number(value: int, door: str) -> int:
    """A number of the door's own (the one case that sends numbers keeps sending numbers)."""
    return value * 10 + ("kafka", "http").index(door)


def _tagged_run_id(run_id: str, tag: str) -> str:
    try:
        return str(uuid.uuid5(uuid.UUID(run_id), tag))
    except ValueError:
        return f"{run_id}@{tag}"


STATES = {"START": "RUNNING", "RUNNING": "RUNNING", "COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}


def as_case(name: str, event: dict[str, Any]) -> Case:
    """An event of the spec's own corpus as a case: the run's state from its eventType."""
    state = STATES.get(str(event.get("eventType", "")).upper(), "NEW") if "run" in event else None
    return Case(name, event, state=state)


@dataclass(frozen=True)
class Expected:
    """What the graph must show for one accepted event."""

    run_id: str | None  # the Run's key
    sent_run_id: str | None
    state: str | None
    job: tuple[str, str] | None
    reads: list[tuple[str, str]]
    writes: list[tuple[str, str]]
    parent_run_id: str | None
    dataset: tuple[str, str] | None  # a DatasetEvent's dataset


def expected(case: Case, event: dict[str, Any]) -> Expected:
    """What ``event`` (the case's event, as ``for_door`` made it) must show in the graph."""

    def keys(listed: list[dict[str, Any]] | None, override: list[tuple[str, str]] | None) -> list[tuple[str, str]]:
        if override is not None:
            return sorted(override)
        return sorted(_key(normalize(d["namespace"], d["name"])) for d in listed or [])

    run = event.get("run")
    run_id = sent = parent_id = None
    if isinstance(run, dict):
        text = str(run["runId"])
        run_id = str(run_key(text))
        sent = None if run_id == _uuid_or_none(text) else text
        parent = (run.get("facets") or {}).get("parent")
        parent_run = parent.get("run") if isinstance(parent, dict) else None
        if isinstance(parent_run, dict) and isinstance(parent_run.get("runId"), str):
            parent_id = str(run_key(parent_run["runId"]))
    is_dataset_event = "run" not in event and "dataset" in event
    job = (str(event["job"]["namespace"]), str(event["job"]["name"])) if not is_dataset_event else None
    dataset = None
    if is_dataset_event:
        dataset = _key(normalize(event["dataset"]["namespace"], event["dataset"]["name"]))
    return Expected(
        run_id=run_id,
        sent_run_id=sent,
        state=case.state,
        job=job,
        reads=keys(event.get("inputs"), case.reads),
        writes=keys(event.get("outputs"), case.writes),
        parent_run_id=parent_id,
        dataset=dataset,
    )


def _uuid_or_none(text: str) -> str | None:
    return str(uuid.UUID(text)) if is_uuid(text) else None


def _key(key: Any) -> tuple[str, str]:
    return (key.namespace, key.name)
