"""Decoding OpenLineage RunEvents: real events pass, bad ones fail with a reason code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from lineage.events import DatasetEvent, InvalidEvent, JobEvent, RunEvent, decode_event, decode_run_event
from lineage.keys import DatasetKey, JobKey
from tests.unit.factories import OPENLINEAGE, REAL_EVENTS, load_json, real_event_files, run_event_dict


def _events_in(path: Path) -> list[tuple[str, bytes]]:
    """(id, raw JSON) of each event in a file; files hold one event or a JSON array of events."""
    raw = path.read_bytes()
    data = json.loads(raw)
    name = str(path.relative_to(REAL_EVENTS))
    if isinstance(data, list):
        return [(f"{name}[{i}]", json.dumps(e).encode()) for i, e in enumerate(data)]
    return [(name, raw)]  # the file's own bytes, exactly as stored


REAL = [item for path in real_event_files() for item in _events_in(path)]
REAL_RUN_EVENTS = [pytest.param(raw, id=name) for name, raw in REAL if "run" in json.loads(raw)]
REAL_OTHER_EVENTS = [pytest.param(raw, id=name) for name, raw in REAL if "run" not in json.loads(raw)]


def test_the_real_event_corpus_is_there() -> None:
    # Guards the parametrised tests below against silently running on nothing.
    assert len(REAL_RUN_EVENTS) == 8
    assert len(REAL_OTHER_EVENTS) == 2


@pytest.mark.parametrize("raw", REAL_RUN_EVENTS)
def test_every_real_run_event_decodes(raw: bytes) -> None:
    data = json.loads(raw)
    event = decode_run_event(raw)
    assert event.run.runId == UUID(data["run"]["runId"])
    assert event.job.key == JobKey(data["job"]["namespace"], data["job"]["name"])
    assert event.eventType == data.get("eventType")
    assert event.eventTime.tzinfo is not None
    assert [d.key for d in event.inputs] == [DatasetKey(d["namespace"], d["name"]) for d in data.get("inputs", [])]
    assert [d.key for d in event.outputs] == [DatasetKey(d["namespace"], d["name"]) for d in data.get("outputs", [])]
    # Facets, known or not, are kept as sent.
    assert event.run.facets == data["run"].get("facets", {})
    assert event.job.facets == data["job"].get("facets", {})


@pytest.mark.parametrize("raw", REAL_OTHER_EVENTS)
def test_dataset_and_job_events_decode_as_what_they_are(raw: bytes) -> None:
    data = json.loads(raw)
    event = decode_event(raw)
    if "dataset" in data:
        assert isinstance(event, DatasetEvent)
        assert (event.dataset.namespace, event.dataset.name) == (data["dataset"]["namespace"], data["dataset"]["name"])
        assert event.dataset.facets == data["dataset"].get("facets", {})
    else:
        assert isinstance(event, JobEvent)
        assert event.job.facets == data["job"].get("facets", {})
    with pytest.raises(InvalidEvent) as info:
        decode_run_event(raw)  # tools that deal only in runs say what they got instead
    assert info.value.message == f"expected a RunEvent, got a {type(event).__name__}"


def test_unknown_fields_are_kept_for_writing_back() -> None:
    path = REAL_EVENTS / "other" / "client-python" / "example_full_event.json"
    event = decode_run_event(path.read_bytes())
    data = load_json(path)
    (ds,) = event.inputs
    assert ds.inputFacets == data["inputs"][0]["inputFacets"]
    assert event.model_dump(mode="json", exclude={"eventTime"}) | {"eventTime": data["eventTime"]} == data


def test_naive_event_time_is_read_as_utc() -> None:
    path = REAL_EVENTS / "other" / "client-python" / "serde_example_run_event.json"
    assert load_json(path)["eventTime"] == "2021-11-03T10:53:52.427343"
    event = decode_run_event(path.read_bytes())
    assert event.eventTime == datetime(2021, 11, 3, 10, 53, 52, 427343, tzinfo=UTC)
    assert event.eventTime.utcoffset() == timedelta(0)


def test_an_offset_is_converted_to_utc_keeping_the_instant() -> None:
    event = decode_run_event(json.dumps(run_event_dict(time="2020-12-28T19:52:00.001+10:00")))
    assert event.eventTime.utcoffset() == timedelta(0)
    assert event.eventTime == datetime(2020, 12, 28, 9, 52, 0, 1000, tzinfo=UTC)
    assert event.eventTime.isoformat() == "2020-12-28T09:52:00.001000+00:00"


def test_event_type_is_optional() -> None:
    assert decode_run_event(json.dumps(run_event_dict(event_type=None))).eventType is None


@pytest.mark.parametrize("raw", [b"", b"{not json", b'{"eventType": "START",', b"\xff\xfe", "plain text"])
def test_not_json(raw: bytes | str) -> None:
    with pytest.raises(InvalidEvent) as info:
        decode_run_event(raw)
    assert info.value.reason == "not-json"
    assert str(info.value).startswith("not-json: ")


def _broken(**changes: Any) -> dict[str, Any]:
    event = run_event_dict("START")
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = event
        for p in parents:
            target = target[p]
        if value is _DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return event


_DELETE = object()


@pytest.mark.parametrize(
    ("event", "reason", "field"),
    [
        pytest.param(_broken(run__runId=_DELETE), "missing-run-id", "run.runId", id="missing-run-id"),
        pytest.param(_broken(run__runId="not-a-uuid"), "bad-run-id", "run.runId", id="bad-uuid"),
        pytest.param(_broken(run__runId="{{ any(result) }}"), "unresolved-placeholder", "run.runId", id="template"),
        pytest.param(_broken(eventTime=_DELETE), "bad-event-time", "eventTime", id="missing-event-time"),
        pytest.param(_broken(eventTime="yesterday"), "bad-event-time", "eventTime", id="bad-event-time"),
        pytest.param(_broken(job__name=""), "schema-invalid", "job.name", id="empty-job-name"),
        pytest.param(_broken(job=_DELETE), "schema-invalid", "job", id="missing-job"),
        pytest.param(_broken(producer=_DELETE), "schema-invalid", "producer", id="missing-producer"),
        pytest.param(_broken(inputs=[{"namespace": "db"}]), "schema-invalid", "inputs.0.name", id="input-no-name"),
        pytest.param([run_event_dict()], "not-an-object", "array", id="array-not-object"),
    ],
)
def test_invalid_events_name_the_reason_and_the_field(event: Any, reason: str, field: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        decode_run_event(json.dumps(event))
    assert info.value.reason == reason
    assert field in info.value.message


def test_the_invalid_no_run_id_fixture_is_missing_its_run_id() -> None:
    path = OPENLINEAGE / "events" / "invalid" / "other" / "fluentd-proxy" / "events" / "event_no_run_id.json"
    with pytest.raises(InvalidEvent) as info:
        decode_run_event(path.read_bytes())
    assert info.value.reason == "missing-run-id"
    assert "run.runId" in info.value.message


def test_invalid_event_is_a_value_error_with_reason_and_message() -> None:
    err = InvalidEvent("schema-invalid", "run.runId: Field required")
    assert isinstance(err, ValueError)
    assert (err.reason, err.message) == ("schema-invalid", "run.runId: Field required")


def test_decoded_events_are_frozen() -> None:
    event: RunEvent = decode_run_event(json.dumps(run_event_dict()))
    with pytest.raises(ValueError):
        event.eventType = "FAIL"


def test_a_missing_run_id_is_the_reason_even_when_more_is_missing() -> None:
    with pytest.raises(InvalidEvent) as info:
        decode_event(b'{"eventType": "START"}')
    assert info.value.reason == "missing-run-id"
    assert {e["loc"] for e in info.value.errors} >= {"run", "eventTime", "job", "producer", "schemaURL"}
