"""Kafka keys of OpenLineage events, as the OpenLineage clients choose them."""

from __future__ import annotations

from typing import Any

import pytest

from lineage.message_key import message_key
from tests.unit.factories import FULL_EVENT, load_json, run_event_dict


def _run_with_parent(parent: dict[str, Any]) -> dict[str, Any]:
    return run_event_dict("START", job=("child-ns", "child"), run_facets={"parent": parent})


def test_run_with_a_root_is_keyed_by_the_root_job() -> None:
    event = _run_with_parent(
        {
            "run": {"runId": "6f2a2c1e-0000-4000-8000-00000000beef"},
            "job": {"namespace": "parent-ns", "name": "parent"},
            "root": {
                "run": {"runId": "6f2a2c1e-0000-4000-8000-0000000000aa"},
                "job": {"namespace": "root-ns", "name": "root"},
            },
        }
    )
    assert message_key(event) == "run:root-ns/root"


def test_run_with_a_parent_but_no_root_is_keyed_by_the_parent_job() -> None:
    event = _run_with_parent(
        {
            "run": {"runId": "6f2a2c1e-0000-4000-8000-00000000beef"},
            "job": {"namespace": "parent-ns", "name": "parent"},
        }
    )
    assert message_key(event) == "run:parent-ns/parent"


def test_root_without_a_job_name_falls_back_to_the_parent_job() -> None:
    event = _run_with_parent(
        {"job": {"namespace": "parent-ns", "name": "parent"}, "root": {"job": {"namespace": "root-ns"}}}
    )
    assert message_key(event) == "run:parent-ns/parent"


def test_plain_run_is_keyed_by_its_job() -> None:
    assert message_key(run_event_dict("COMPLETE", job=("airflow", "dag.task"))) == "run:airflow/dag.task"


def test_real_full_event_is_keyed_by_its_parent_job() -> None:
    event = load_json(FULL_EVENT)
    parent_job = event["run"]["facets"]["parent"]["job"]
    assert message_key(event) == f"run:{parent_job['namespace']}/{parent_job['name']}"


def test_job_event() -> None:
    event = {
        "eventTime": "2024-01-01T00:00:00Z",
        "job": {"namespace": "ns", "name": "j"},
        "producer": "p",
        "schemaURL": "s",
    }
    assert message_key(event) == "job:ns/j"


def test_dataset_event() -> None:
    event = {
        "eventTime": "2024-01-01T00:00:00Z",
        "dataset": {"namespace": "s3://bucket", "name": "a/b"},
        "producer": "p",
        "schemaURL": "s",
    }
    assert message_key(event) == "dataset:s3://bucket/a/b"


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({}, id="empty"),
        pytest.param({"eventType": "START", "run": {"runId": "x"}}, id="run-without-job"),
        pytest.param({"eventType": "START", "run": {"runId": "x"}, "job": {"namespace": "ns"}}, id="run-no-name"),
        pytest.param({"job": {"namespace": "ns", "name": ""}}, id="job-empty-name"),
        pytest.param({"dataset": {"name": "t"}}, id="dataset-no-namespace"),
        pytest.param({"job": "ns/j"}, id="job-not-an-object"),
    ],
)
def test_missing_names_give_none(event: dict[str, Any]) -> None:
    assert message_key(event) is None


def test_a_job_event_with_an_event_type_is_keyed_as_a_job_event() -> None:
    event = {"eventType": "COMPLETE", "job": {"namespace": "ns", "name": "declared"}}
    assert message_key(event) == "job:ns/declared"
