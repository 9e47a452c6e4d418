"""Decoding OpenLineage RunEvents: real events pass, bad ones fail with a reason code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from lineage.events import DatasetEvent, InvalidEvent, JobEvent, RunEvent, decode, decode_event, decode_run_event
from lineage.keys import DatasetKey, JobKey
from tests.corpus import DELETE, changed
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
    assert event.run.runId == data["run"]["runId"]  # as sent
    assert event.run.key == UUID(data["run"]["runId"])
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
    return changed(run_event_dict("START"), **changes)


_DELETE = DELETE


@pytest.mark.parametrize(
    ("event", "reason", "field"),
    [
        pytest.param(_broken(run__runId=_DELETE), "missing-run-id", "run.runId", id="missing-run-id"),
        pytest.param(_broken(run__runId=""), "missing-run-id", "run.runId", id="empty-run-id"),
        pytest.param(_broken(run__runId=[7]), "bad-run-id", "run.runId", id="list-run-id"),
        pytest.param(_broken(run__runId="{{ any(result) }}"), "unresolved-placeholder", "run.runId", id="template"),
        pytest.param(_broken(eventTime=_DELETE), "bad-event-time", "eventTime", id="missing-event-time"),
        pytest.param(_broken(eventTime="yesterday"), "bad-event-time", "eventTime", id="bad-event-time"),
        pytest.param(_broken(job__name=""), "missing-job", "job.name", id="empty-job-name"),
        pytest.param(_broken(job=_DELETE), "missing-job", "job", id="missing-job"),
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
    assert {e["loc"] for e in info.value.errors} >= {"run", "eventTime", "job", "producer"}


def test_a_run_id_of_text_is_keyed_as_marquez_keys_it() -> None:
    decoded = decode(json.dumps(run_event_dict(run_id="unique-run-id")))
    assert isinstance(decoded.event, RunEvent)
    # Java's UUID.nameUUIDFromBytes("unique-run-id".getBytes()), as Marquez derives it.
    assert decoded.event.run.key == UUID("2b38ee04-5f4e-3a1a-8c4a-05999e9e51eb")
    assert decoded.event.run.sent_id == "unique-run-id"
    assert decoded.leniencies == {"non-uuid-run-id"}


def test_a_uuid_in_the_specs_spelling_is_that_uuid_and_other_spellings_are_text() -> None:
    upper = decode(json.dumps(run_event_dict(run_id="0D4B7A4E-7E3C-4B7A-9D7E-1F0A2B3C4D5E")))
    assert isinstance(upper.event, RunEvent)
    assert upper.event.run.key == UUID("0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e")
    assert upper.event.run.sent_id is None and upper.leniencies == set()
    # Braces, no hyphens, spaces: text to Java's UUID.fromString, so Marquez derives a UUID from
    # them; so does this, and keeps what was sent.
    for spelling in (
        "0D4B7A4E7E3C4B7A9D7E1F0A2B3C4D5E",
        "{0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e}",
        " 0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e",
    ):
        decoded = decode(json.dumps(run_event_dict(run_id=spelling)))
        assert isinstance(decoded.event, RunEvent)
        assert decoded.event.run.key != UUID("0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e")
        assert decoded.event.run.sent_id == spelling and decoded.leniencies == {"non-uuid-run-id"}


def test_numbers_and_booleans_where_text_belongs_are_read_as_their_text() -> None:
    event = run_event_dict() | {"producer": 3}
    event["run"]["runId"] = 20240601
    event["job"]["name"] = True
    decoded = decode(json.dumps(event))
    assert isinstance(decoded.event, RunEvent)
    assert (decoded.event.run.runId, decoded.event.job.name, decoded.event.producer) == ("20240601", "true", "3")
    assert decoded.leniencies == {"scalar-as-text", "non-uuid-run-id"}


def test_event_times_that_are_no_iso_timestamps_or_out_of_range_are_refused() -> None:
    for time in ("1717200000", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        with pytest.raises(InvalidEvent) as info:
            decode(json.dumps(run_event_dict(time=time)))
        assert info.value.reason == "bad-event-time", time


def test_blank_names_are_refused() -> None:
    for changes, reason in (({"job__name": "  "}, "missing-job"), ({"job__namespace": "\t"}, "missing-job")):
        with pytest.raises(InvalidEvent) as info:
            decode(json.dumps(_broken(**changes)))
        assert info.value.reason == reason
    with pytest.raises(InvalidEvent) as info:
        decode(json.dumps(run_event_dict(outputs=[{"namespace": " ", "name": "t"}])))
    assert info.value.reason == "schema-invalid"


def test_a_job_with_an_event_type_and_no_run_is_a_job_event() -> None:
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2024-01-01T00:00:00Z",
        "job": {"namespace": "ns", "name": "declared"},
        "outputs": [{"namespace": "db", "name": "t"}],
        "producer": "p",
        "schemaURL": "https://openlineage.io/spec/1-0-1/OpenLineage.json#/definitions/JobEvent",
    }
    decoded = decode(json.dumps(event))
    assert isinstance(decoded.event, JobEvent)
    assert decoded.leniencies == {"job-event-with-event-type"}
    # Unless the producer says it is a run event: then it lost its run.
    with pytest.raises(InvalidEvent) as info:
        decode(json.dumps(event | {"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}))
    assert info.value.reason == "missing-run-id"


@pytest.mark.parametrize(
    ("sent", "read", "kind"),
    [
        ("complete", "COMPLETE", "nonstandard-event-type"),
        ("COMPLETED", "COMPLETE", "nonstandard-event-type"),
        ("failed", "FAIL", "nonstandard-event-type"),
        ("STARTED", "START", "nonstandard-event-type"),
        ("ABORTED", "ABORT", "nonstandard-event-type"),
        ("RESUME", "OTHER", "unknown-event-type"),
        ("", "OTHER", "unknown-event-type"),
    ],
)
def test_event_types_are_read_leniently_and_counted(sent: str, read: str, kind: str) -> None:
    decoded = decode(json.dumps(run_event_dict(event_type=sent)))
    assert isinstance(decoded.event, RunEvent)
    assert (decoded.event.eventType, decoded.leniencies) == (read, {kind})


def test_leniencies_are_counted_once_per_event_and_facets_stay_as_sent() -> None:
    facets = {
        "a": "text",
        "b": 3,
        "c": {"_producer": "p", "x": 1},
        "d": {"_schemaURL": "s"},
        "ownership": {"_producer": "p", "_schemaURL": "s", "owners": [{"team": "x"}]},
    }
    decoded = decode(json.dumps(run_event_dict(job_facets=facets, time="2024-01-01T00:00:00")))
    assert isinstance(decoded.event, RunEvent)
    assert decoded.event.job.facets == facets
    assert decoded.leniencies == {
        "facet-not-an-object",
        "facet-without-schema-url",
        "malformed-facet",
        "naive-event-time",
    }


def test_null_lists_and_facets_are_read_as_none() -> None:
    event = run_event_dict() | {"inputs": None, "outputs": None}
    event["run"]["facets"] = None
    decoded = decode(json.dumps(event))
    assert isinstance(decoded.event, RunEvent)
    assert (decoded.event.inputs, decoded.event.outputs, decoded.event.run.facets) == ([], [], {})
    assert decoded.leniencies == {"null-field"}


def test_no_schema_url_and_unknown_spec_versions_are_counted() -> None:
    event = run_event_dict()
    assert decode(json.dumps({k: v for k, v in event.items() if k != "schemaURL"})).leniencies == {"no-schema-url"}
    newer = event | {"schemaURL": "https://openlineage.io/spec/2-8-9/OpenLineage.json#/$defs/RunEvent"}
    assert decode(json.dumps(newer)).leniencies == {"unknown-spec-version"}
    assert decode(json.dumps(event)).leniencies == set()
