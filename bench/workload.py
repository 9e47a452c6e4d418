"""A realistic OpenLineage workload, deterministic from a seed, of any size.

The topology: DATASETS datasets in layers (raw Postgres tables, lake paths each named as a Hive
table by a ``symlinks`` facet, warehouse tables) and JOBS jobs between them, each reading 1-3
datasets of the layers before it (mostly the one just before, nearby positions: fan-in) and
writing 1-2 of its own layer (several jobs may write one table: fan-out is in who reads it).
Two kinds of jobs, with the shapes of the real events in ../shared/openlineage:

- Spark jobs, each launched by a task of an Airflow DAG: the DAG run (START, COMPLETE), the task
  run (parent: the DAG run) and the Spark run (parent: the task run; ``jobType`` SPARK JOB,
  ``processing_engine``, ``spark_version``) with a START (inputs), sometimes a RUNNING, and a
  COMPLETE or, now and then, a FAIL with an ``errorMessage`` facet. Its outputs carry ``schema``,
  ``symlinks`` (the lake path's Hive table) and ``columnLineage`` (each output column from a
  column of an input, IDENTITY or a masking HASH);
- dbt models: START and COMPLETE (or FAIL) with ``jobType`` DBT MODEL, the ``sql`` facet, and
  ``schema`` and ``ownership`` on the output, parented to a dbt run of the project.

Events are yielded run by run in time order (a day's schedule: each DAG, then the dbt project),
with each run's events in order; every job runs once a day. ``events(n)`` stops after n events.

Run: .venv/bin/python -m bench.workload N [--seed S] [--datasets D] [--jobs J] > events.ndjson
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SPARK_PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/spark"
AIRFLOW_PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.7.0"
DBT_PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/dbt"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET = "https://openlineage.io/spec/facets/1-0-1/{}.json#/$defs/{}"
LAYERS = 8
TYPES = ("BIGINT", "STRING", "DOUBLE", "TIMESTAMP", "DATE", "BOOLEAN", "DECIMAL(18,2)")


@dataclass(frozen=True)
class Dataset:
    namespace: str
    name: str
    columns: tuple[tuple[str, str], ...]
    table: tuple[str, str] | None = None  # the Hive table a lake path is (symlinks)


@dataclass(frozen=True)
class Job:
    kind: str  # "spark" or "dbt"
    name: str
    dag: str  # the Airflow DAG (spark) or dbt project (dbt) it belongs to
    reads: tuple[int, ...]
    writes: tuple[int, ...]


class Topology:
    """DATASETS datasets in LAYERS layers and JOBS jobs between them (deterministic from seed)."""

    def __init__(self, datasets: int, jobs: int, seed: int = 1) -> None:
        if datasets < 2 * LAYERS or jobs < 1:
            raise ValueError(f"need at least {2 * LAYERS} datasets and one job")
        rng = random.Random(seed)
        self.per_layer = datasets // LAYERS
        self.datasets = [self._dataset(i, rng) for i in range(self.per_layer * LAYERS)]
        self.groups = max(1, jobs // 12)  # Airflow DAGs and dbt projects of about a dozen jobs each
        self.jobs = [self._job(j, rng) for j in range(jobs)]

    def _dataset(self, i: int, rng: random.Random) -> Dataset:
        layer = i // self.per_layer
        columns = tuple((f"col_{c}", rng.choice(TYPES)) for c in range(rng.randint(4, 24)))
        if layer == 0:
            return Dataset("postgres://shop-db:5432", f"shop.public.table_{i}", columns)
        if layer < LAYERS // 2:
            path = f"/warehouse/layer{layer}/table_{i}"
            return Dataset("s3://lake", path, columns, ("hive://metastore:9083", f"layer{layer}.table_{i}"))
        return Dataset("snowflake://acme.eu-west-1", f"ANALYTICS.LAYER{layer}.TABLE_{i}", columns)

    def _job(self, j: int, rng: random.Random) -> Job:
        layer, position = rng.randrange(1, LAYERS), rng.randrange(self.per_layer)

        def near(at_layer: int, spread: int) -> int:
            return at_layer * self.per_layer + (position + rng.randint(-spread, spread)) % self.per_layer

        reads = {near(max(0, layer - rng.choice((1, 1, 1, 2))), 6) for _ in range(rng.randint(1, 3))}
        writes = {near(layer, 2) for _ in range(rng.randint(1, 2))}
        if layer < LAYERS // 2:
            return Job("spark", f"etl_{j}.transform", f"dag_{j % self.groups}", tuple(reads), tuple(writes))
        return Job("dbt", f"analytics.model_{j}", f"project_{j % self.groups}", tuple(reads), tuple(writes))


def events(topology: Topology, count: int, seed: int = 1, start: datetime | None = None) -> Iterator[dict[str, Any]]:
    """``count`` events of daily schedules over the topology, run by run, in time order."""
    rng = random.Random(seed)
    day = start or datetime(2026, 11, 1, tzinfo=UTC)
    emitted = 0
    by_dag: dict[str, list[Job]] = {}
    for job in topology.jobs:
        by_dag.setdefault(job.dag, []).append(job)
    while True:
        clock = [day]
        for dag, jobs in sorted(by_dag.items()):
            for event in _dag_run(topology, dag, jobs, rng, clock):
                yield event
                emitted += 1
                if emitted >= count:
                    return
        day += timedelta(days=1)


def _dag_run(
    topology: Topology, dag: str, jobs: list[Job], rng: random.Random, clock: list[datetime]
) -> Iterator[dict[str, Any]]:
    def tick(seconds: float = 1.0) -> datetime:
        clock[0] += timedelta(seconds=seconds)
        return clock[0]

    dbt = jobs[0].kind == "dbt"
    producer = DBT_PRODUCER if dbt else AIRFLOW_PRODUCER
    dag_job = ("dbt", f"{dag}.run") if dbt else ("airflow", dag)
    dag_run = _uuid(rng, clock[0])
    dag_facets = _job_type("DBT" if dbt else "AIRFLOW", "JOB" if dbt else "DAG", producer)
    yield _event("START", tick(), dag_run, dag_job, producer, job_facets=dag_facets)
    for job in jobs:
        failed = rng.random() < 0.03
        if dbt:
            yield from _dbt_model(topology, job, dag_run, dag_job, failed, rng, tick)
        else:
            yield from _airflow_task(topology, job, dag_run, dag_job, failed, rng, tick)
    yield _event("COMPLETE", tick(), dag_run, dag_job, producer, job_facets=dag_facets)


def _airflow_task(
    topology: Topology, job: Job, dag_run: str, dag_job: tuple[str, str], failed: bool, rng: random.Random, tick: Any
) -> Iterator[dict[str, Any]]:
    task_run, spark_run = _uuid(rng, tick(0)), _uuid(rng, tick(0))
    task_job = ("airflow", f"{dag_job[1]}.{job.name.split('.')[0]}")
    task_facets = _job_type("AIRFLOW", "TASK", AIRFLOW_PRODUCER)
    to_dag = {"parent": _parent(dag_run, dag_job, AIRFLOW_PRODUCER)}
    yield _event("START", tick(), task_run, task_job, AIRFLOW_PRODUCER, run_facets=to_dag, job_facets=task_facets)
    spark_job = ("spark", job.name)
    spark_facets = {
        "parent": _parent(task_run, task_job, SPARK_PRODUCER),
        "processing_engine": {
            "_producer": SPARK_PRODUCER,
            "_schemaURL": FACET.format("ProcessingEngineRunFacet", "ProcessingEngineRunFacet"),
            "version": "3.5.4",
            "name": "spark",
            "openlineageAdapterVersion": "1.40.0",
        },
        "spark_properties": {
            "_producer": SPARK_PRODUCER,
            "_schemaURL": "spark",
            "properties": {"spark.master": "yarn"},
        },
    }
    job_facets = _job_type("SPARK", "JOB", SPARK_PRODUCER)
    inputs = [_input(topology.datasets[i]) for i in job.reads]
    yield _event("START", tick(), spark_run, spark_job, SPARK_PRODUCER, spark_facets, job_facets, inputs=inputs)
    if rng.random() < 0.3:
        yield _event("RUNNING", tick(30), spark_run, spark_job, SPARK_PRODUCER, spark_facets, job_facets, inputs=inputs)
    outputs = [_spark_output(topology, topology.datasets[o], job, rng) for o in job.writes]
    end = "FAIL" if failed else "COMPLETE"
    end_facets = dict(spark_facets)
    if failed:
        end_facets["errorMessage"] = {
            "_producer": SPARK_PRODUCER,
            "_schemaURL": FACET.format("ErrorMessageRunFacet", "ErrorMessageRunFacet"),
            "message": "Job aborted due to stage failure: java.lang.OutOfMemoryError: Java heap space",
            "programmingLanguage": "JAVA",
        }
    yield _event(end, tick(rng.uniform(60, 600)), spark_run, spark_job, SPARK_PRODUCER, end_facets, job_facets,
                 inputs=inputs, outputs=outputs)  # fmt: skip
    yield _event(end, tick(), task_run, task_job, AIRFLOW_PRODUCER, run_facets=to_dag, job_facets=task_facets)


def _dbt_model(
    topology: Topology, job: Job, dag_run: str, dag_job: tuple[str, str], failed: bool, rng: random.Random, tick: Any
) -> Iterator[dict[str, Any]]:
    run = _uuid(rng, tick(0))
    run_facets = {"parent": _parent(dag_run, dag_job, DBT_PRODUCER)}
    job_facets = _job_type("DBT", "MODEL", DBT_PRODUCER) | {
        "sql": {
            "_producer": DBT_PRODUCER,
            "_schemaURL": FACET.format("SQLJobFacet", "SQLJobFacet"),
            "query": f"create or replace table {job.name} as select * from "
            + " join ".join(topology.datasets[i].name for i in job.reads),
            "dialect": "snowflake",
        }
    }
    inputs = [_input(topology.datasets[i]) for i in job.reads]
    yield _event("START", tick(), run, ("dbt", job.name), DBT_PRODUCER, run_facets, job_facets, inputs=inputs)
    outputs = []
    for o in job.writes:
        ds = topology.datasets[o]
        facets = _schema(ds) | {
            "ownership": {
                "_producer": DBT_PRODUCER,
                "_schemaURL": FACET.format("OwnershipDatasetFacet", "OwnershipDatasetFacet"),
                "owners": [{"name": f"team:{ds.name.split('.')[1].lower()}", "type": "TEAM"}],
            }
        }
        outputs.append({"namespace": ds.namespace, "name": ds.name, "facets": facets})
    if failed:
        run_facets = run_facets | {
            "errorMessage": {
                "_producer": DBT_PRODUCER,
                "_schemaURL": FACET.format("ErrorMessageRunFacet", "ErrorMessageRunFacet"),
                "message": "Database Error in model: invalid identifier 'COL_3'",
                "programmingLanguage": "SQL",
            }
        }
    yield _event("FAIL" if failed else "COMPLETE", tick(rng.uniform(5, 120)), run, ("dbt", job.name), DBT_PRODUCER,
                 run_facets, job_facets, inputs=inputs, outputs=outputs)  # fmt: skip


def _spark_output(topology: Topology, ds: Dataset, job: Job, rng: random.Random) -> dict[str, Any]:
    facets = _schema(ds)
    if ds.table:
        facets["symlinks"] = {
            "_producer": SPARK_PRODUCER,
            "_schemaURL": FACET.format("SymlinksDatasetFacet", "SymlinksDatasetFacet"),
            "identifiers": [{"namespace": ds.table[0], "name": ds.table[1], "type": "TABLE"}],
        }
    sources = [topology.datasets[i] for i in job.reads]
    lineage = {}
    for c, (name, _) in enumerate(ds.columns):
        src = sources[c % len(sources)]
        column = src.columns[c % len(src.columns)][0]
        masked = c % 7 == 3
        transformation = {"type": "DIRECT", "subtype": "TRANSFORMATION" if masked else "IDENTITY", "masking": masked}
        lineage[name] = {
            "inputFields": [
                {"namespace": src.namespace, "name": src.name, "field": column, "transformations": [transformation]}
            ]
        }
    facets["columnLineage"] = {
        "_producer": SPARK_PRODUCER,
        "_schemaURL": FACET.format("ColumnLineageDatasetFacet", "ColumnLineageDatasetFacet"),
        "fields": lineage,
    }
    return {"namespace": ds.namespace, "name": ds.name, "facets": facets}


def _schema(ds: Dataset) -> dict[str, Any]:
    return {
        "schema": {
            "_producer": SPARK_PRODUCER,
            "_schemaURL": FACET.format("SchemaDatasetFacet", "SchemaDatasetFacet"),
            "fields": [{"name": n, "type": t} for n, t in ds.columns],
        }
    }


def _input(ds: Dataset) -> dict[str, Any]:
    return {"namespace": ds.namespace, "name": ds.name, "facets": {}}


def _job_type(integration: str, job_type: str, producer: str) -> dict[str, Any]:
    return {
        "jobType": {
            "_producer": producer,
            "_schemaURL": FACET.format("JobTypeJobFacet", "JobTypeJobFacet"),
            "processingType": "BATCH",
            "integration": integration,
            "jobType": job_type,
        }
    }


def _parent(run_id: str, job: tuple[str, str], producer: str) -> dict[str, Any]:
    return {
        "_producer": producer,
        "_schemaURL": FACET.format("ParentRunFacet", "ParentRunFacet"),
        "run": {"runId": run_id},
        "job": {"namespace": job[0], "name": job[1]},
    }


def _event(
    kind: str,
    at: datetime,
    run_id: str,
    job: tuple[str, str],
    producer: str,
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": at.isoformat(),
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": job[0], "name": job[1], "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
        "producer": producer,
        "schemaURL": SCHEMA_URL,
    }


def _uuid(rng: random.Random, at: datetime) -> str:
    """A UUIDv7 (RFC 9562) of the run's start: as modern OpenLineage clients make run ids, and as
    Data.Rentgen (the peer in bench.peer) requires, placing the run by its id's time."""
    ms = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    rand_a, rand_b = rng.getrandbits(12), rng.getrandbits(62)
    return str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int, help="number of events")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--datasets", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=800)
    args = parser.parse_args()
    topology = Topology(args.datasets, args.jobs, args.seed)
    out = sys.stdout
    for event in events(topology, args.count, args.seed):
        out.write(json.dumps(event, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
