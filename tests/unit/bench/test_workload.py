"""The benchmark workload: deterministic, valid OpenLineage, with the shapes it promises."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.workload import Topology, events
from lineage.events import decode_event
from lineage.graph_mapping import run_mutations
from lineage.merge import merge_event
from lineage.mutations import EdgeUpsert


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    return list(events(Topology(400, 120, seed=7), 3000, seed=7))


def test_the_same_seed_gives_the_same_events_and_another_seed_others(sample: list[dict]) -> None:
    assert list(events(Topology(400, 120, seed=7), 3000, seed=7)) == sample
    assert list(events(Topology(400, 120, seed=8), 3000, seed=8)) != sample


def test_every_event_is_valid_openlineage(sample: list[dict]) -> None:
    for event in sample:
        decode_event(json.dumps(event))  # raises InvalidEvent otherwise


def test_the_mix_has_airflow_spark_and_dbt_runs_some_failing(sample: list[dict]) -> None:
    kinds = Counter((e["job"]["namespace"], e["eventType"]) for e in sample)
    for kind in ("airflow", "spark", "dbt"):
        assert kinds[(kind, "START")] > 0 and kinds[(kind, "COMPLETE")] > 0
    assert kinds[("spark", "FAIL")] + kinds[("dbt", "FAIL")] > 0
    assert kinds[("spark", "RUNNING")] > 0
    failed = [e for e in sample if e["eventType"] == "FAIL" and e["job"]["namespace"] != "airflow"]
    assert all("errorMessage" in e["run"]["facets"] for e in failed)


def test_runs_are_parented_dag_to_task_to_spark(sample: list[dict]) -> None:
    jobs_of = {e["run"]["runId"]: e["job"]["namespace"] for e in sample}
    parents = Counter(
        (e["job"]["namespace"], jobs_of.get(e["run"]["facets"]["parent"]["run"]["runId"]))
        for e in sample
        if "parent" in e["run"]["facets"]
    )
    assert set(parents) == {("airflow", "airflow"), ("spark", "airflow"), ("dbt", "dbt")}


def test_spark_outputs_carry_symlinks_schema_and_column_lineage_that_map_to_the_graph(sample: list[dict]) -> None:
    spark_done = next(e for e in sample if e["job"]["namespace"] == "spark" and e["eventType"] == "COMPLETE"
                      and e["outputs"][0]["facets"].get("symlinks"))  # fmt: skip
    facets = spark_done["outputs"][0]["facets"]
    assert {"schema", "symlinks", "columnLineage"} <= set(facets)
    mutations = run_mutations(merge_event(None, decode_event(json.dumps(spark_done))))
    types = Counter(m.type for m in mutations if isinstance(m, EdgeUpsert))
    assert types["ALIAS_OF"] >= 1 and types["WROTE"] >= 1 and types["CHILD_OF"] == 1


def test_a_count_is_exact_and_jobs_fan_in_and_out(sample: list[dict]) -> None:
    assert len(list(events(Topology(400, 120), 1234))) == 1234
    topology = Topology(400, 120, seed=7)
    assert max(len(j.reads) for j in topology.jobs) == 3
    readers = Counter(i for j in topology.jobs for i in j.reads)
    assert max(readers.values()) > 1  # some datasets feed several jobs
