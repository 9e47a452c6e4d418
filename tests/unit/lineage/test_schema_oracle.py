"""The OpenLineage JSON schemas as a test oracle for the event model.

The schemas are an oracle, not a gate: the model accepts events that break them in known ways
and counts each as a leniency (``lineage.events.LENIENCIES``). For every event under events/real
and events/invalid, spec/tests/example_full_event.json and every hand-written case of
tests/corpus.py, each complaint of the spec's JSON schemas (core 2-0-2 plus the facet schemas,
each facet checked by the schema that defines its name for its place in the event) must be
explained by a leniency the model reported, and each leniency the model reported by a complaint:
the model neither takes a broken event silently nor counts one that is fine. What the model
refuses, the schemas refuse too. Facet examples under spec/tests raise no leniency at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry, Resource

from lineage.events import InvalidEvent, decode, decode_event
from lineage.facets import DATASET_FACETS, INPUT_FACETS, JOB_FACETS, OUTPUT_FACETS, RUN_FACETS
from tests.corpus import ACCEPTED, REFUSED

OPENLINEAGE = Path(__file__).resolve().parents[4] / "shared" / "openlineage"
SPEC = OPENLINEAGE / "spec"

# Leniencies that are no complaint of the schemas: a spec version the product does not know, and
# a JobEvent that also carries an eventType (JobEvent allows more properties).
NOT_IN_THE_SCHEMA = {"unknown-spec-version", "job-event-with-event-type"}
# Complaints the model knowingly lets pass without counting them: string formats (a producer or
# a dataSource that is not a URI, a nominal time without an offset) cost at most a property.
UNCOUNTED_FORMATS = {"uri", "date-time"}

KINDS = {
    "RunFacet": ("run", RUN_FACETS),
    "JobFacet": ("job", JOB_FACETS),
    "DatasetFacet": ("dataset", DATASET_FACETS),
    "InputDatasetFacet": ("input", INPUT_FACETS),
    "OutputDatasetFacet": ("output", OUTPUT_FACETS),
}


@cache
def registry() -> Registry:
    resources = [SPEC / "OpenLineage.json", *sorted((SPEC / "facets").glob("*.json"))]
    pairs = []
    for path in resources:
        schema = json.loads(path.read_text())
        pairs.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(pairs)


@cache
def facet_schemas() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """kind -> facet name -> the schemas (as small wrappers) that define that name for that kind."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {kind: {} for kind, _ in KINDS.values()}
    for path in sorted((SPEC / "facets").glob("*.json")):
        schema = json.loads(path.read_text())
        text = json.dumps(schema)
        for base, (kind, _) in KINDS.items():
            if f'OpenLineage.json#/$defs/{base}"' in text:
                for name in schema.get("properties", {}):
                    # The facet file's own schema, applied to a one-facet map {name: facet}.
                    out[kind].setdefault(name, []).append({"$ref": schema["$id"]})
    return out


def schema_errors(event: dict[str, Any]) -> Iterator[tuple[str, ValidationError]]:
    """Every complaint of the schemas, as (where: "core" or the facet's kind, the error)."""
    # The event's own definition rather than the core's oneOf, so that errors say what is wrong.
    kind = "RunEvent" if "run" in event else "DatasetEvent" if "dataset" in event else "JobEvent"
    core = {"$ref": f"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/{kind}"}
    for error in _validator(core).iter_errors(event):
        yield "core", error
    for kind, facets in _facet_maps(event):
        for name, facet in facets.items():
            for schema in facet_schemas()[kind].get(name, []):
                for error in _validator(schema).iter_errors({name: facet}):
                    yield kind, error


def explain(where: str, error: ValidationError) -> set[str]:
    """The leniencies that account for one complaint ("uncounted" for a string format; the error
    itself, as text, when nothing does, which fails the test)."""
    path = list(error.absolute_path)
    if error.validator in ("anyOf", "oneOf") and error.context:
        # A facets map: its alternatives say what is wrong with which facet.
        found: set[str] = set()
        for sub in error.context:
            if sub.validator == "required" and "'_deleted'" in sub.message:
                continue  # the other alternative, a deletion
            found |= explain(where, sub)
        return found
    if error.validator == "format":
        if error.validator_value == "uuid" and path[-1:] == ["runId"]:
            return {"non-uuid-run-id"}
        if path == ["eventTime"]:
            return {"naive-event-time"}
        if error.validator_value in UNCOUNTED_FORMATS:
            return {"uncounted"}
    if error.validator == "required" and path == [] and where == "core" and "'schemaURL'" in error.message:
        return {"no-schema-url"}
    if error.validator == "required" and ("'_producer'" in error.message or "'_schemaURL'" in error.message):
        return {"facet-without-schema-url"}
    if error.validator == "enum" and path == ["eventType"]:
        return {"nonstandard-event-type", "unknown-event-type"}
    if error.validator == "type" and error.instance is None and path[-1:] in (["facets"], ["inputs"], ["outputs"]):
        return {"null-field"}
    if error.validator == "type" and len(path) >= 2 and path[-2] in ("facets", "inputFacets", "outputFacets"):
        return {"facet-not-an-object"}
    if error.validator == "type" and len(path) == 1 and where != "core":  # a facet schema's {name: facet}
        return {"facet-not-an-object"}
    if error.validator == "type" and path[-1:] in (["_producer"], ["_schemaURL"]):
        return {"malformed-facet"}
    if error.validator == "type" and path[-1:] == ["runId"]:  # a number's text is no UUID either
        return {"scalar-as-text", "non-uuid-run-id"}
    if error.validator == "type" and path[-1:] in (["name"], ["namespace"], ["producer"], ["eventType"]):
        return {"scalar-as-text"}
    if where != "core":
        return {"malformed-facet"}
    return {f"unexplained: {where} {path}: {error.message}"}


def assert_oracle_agrees(event: dict[str, Any], leniencies: frozenset[str]) -> None:
    explained: set[str] = set()
    for where, error in schema_errors(event):
        found = explain(where, error)
        assert not any(f.startswith("unexplained") for f in found), found
        if found != {"uncounted"}:
            assert found & leniencies, f"{where}: {error.message} is explained by none of {sorted(leniencies)}"
        explained |= found
    unexplained = leniencies - explained - NOT_IN_THE_SCHEMA
    assert not unexplained, f"the model counted {sorted(unexplained)}, the schemas do not complain of it"


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=registry(), format_checker=FormatChecker())


def _facet_maps(event: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    def facets_of(part: Any) -> Any:
        return part.get("facets") if isinstance(part, dict) else None

    maps = [("run", facets_of(event.get("run"))), ("job", facets_of(event.get("job")))]
    if isinstance(event.get("dataset"), dict):
        maps.append(("dataset", event["dataset"].get("facets")))
    for ds in event.get("inputs") or []:
        maps += [("dataset", ds.get("facets")), ("input", ds.get("inputFacets"))]
    for ds in event.get("outputs") or []:
        maps += [("dataset", ds.get("facets")), ("output", ds.get("outputFacets"))]
    return [(kind, facets) for kind, facets in maps if isinstance(facets, dict)]


def _events(folder: str) -> list[Any]:
    params = []
    for path in sorted((OPENLINEAGE / folder).rglob("*.json")):
        data = json.loads(path.read_text())
        rel = str(path.relative_to(OPENLINEAGE))
        for i, event in enumerate(data if isinstance(data, list) else [data]):
            params.append(pytest.param(rel, event, id=f"{rel}#{i}"))
    return params


REAL = [
    *_events("events/real"),
    pytest.param(
        "spec/tests/example_full_event.json",
        json.loads((SPEC / "tests" / "example_full_event.json").read_text()),
        id="spec/tests/example_full_event.json",
    ),
]
INVALID = _events("events/invalid")
# What the model finds in the corpora of real and of invalid events (both taken, but for one).
REAL_LENIENCIES = {
    "events/real/other/client-python/serde_example_run_event.json": {"naive-event-time"},
    "events/real/other/client-python/serde_example_dataset_event.json": {"naive-event-time"},
    "events/real/other/client-python/serde_example_job_event.json": {"naive-event-time"},
    # A dataQualityMetrics facet with a rowCount and no columnMetrics.
    "events/real/other/fluentd-proxy/events/event_full.json": {"malformed-facet"},
}
INVALID_REFUSED = {"events/invalid/other/fluentd-proxy/events/event_no_run_id.json": "missing-run-id"}


def test_the_corpora_are_there() -> None:
    assert len(REAL) == 11 and len(INVALID) == 6
    assert len(ACCEPTED) >= 12 and len(REFUSED) >= 12


@pytest.mark.parametrize(("rel", "event"), REAL)
def test_real_events_are_taken_and_the_schema_explains_each_leniency(rel: str, event: dict[str, Any]) -> None:
    decoded = decode(json.dumps(event))  # raises InvalidEvent if the model refuses it
    assert decoded.leniencies == REAL_LENIENCIES.get(rel, set())
    assert_oracle_agrees(event, decoded.leniencies)


@pytest.mark.parametrize(("rel", "event"), INVALID)
def test_invalid_events_are_taken_unless_they_cannot_be_identified(rel: str, event: dict[str, Any]) -> None:
    assert list(schema_errors(event)), f"the schema accepts {rel}"
    if rel in INVALID_REFUSED:
        with pytest.raises(InvalidEvent) as info:
            decode(json.dumps(event))
        assert info.value.reason == INVALID_REFUSED[rel]
        return
    # A facet that breaks its schema (an owner without a name, a parent without a run id, a
    # statistic that is text) costs what the graph cannot read of it, not the run.
    decoded = decode(json.dumps(event))
    assert decoded.leniencies == {"malformed-facet"}
    assert_oracle_agrees(event, decoded.leniencies)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in ACCEPTED])
def test_hand_written_shapes_are_taken_with_the_leniencies_the_schema_explains(case: Any) -> None:
    decoded = decode(json.dumps(case.event))
    assert decoded.leniencies == case.leniencies
    assert_oracle_agrees(case.event, decoded.leniencies)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in REFUSED])
def test_what_the_model_refuses_the_schema_refuses_too(case: Any) -> None:
    with pytest.raises(InvalidEvent) as info:
        decode(json.dumps(case.event))
    assert info.value.reason == case.refused
    # Where the model is stricter than the schema, on purpose (blank names, unrepresentable times).
    assert bool(list(schema_errors(case.event))) is not case.stricter, case.name


def _facet_examples() -> list[Any]:
    params = []
    for path in sorted((SPEC / "tests").glob("*/*.json")):
        facet_file = path.parent.name
        base = next((b for b in sorted(KINDS, key=len, reverse=True) if facet_file.endswith(b)), None)
        if base is None:
            continue
        params.append(pytest.param(base, json.loads(path.read_text()), id=f"{facet_file}/{path.name}"))
    return params


FACET_EXAMPLES = _facet_examples()


def _leniencies_of(kind: str, facets: dict[str, Any]) -> frozenset[str]:
    """What decoding notes of one facets map, placed where ``kind`` belongs in a plain event."""
    event: dict[str, Any] = {
        "eventType": "COMPLETE",
        "eventTime": "2024-01-01T00:00:00Z",
        "run": {"runId": "0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e"},
        "job": {"namespace": "ns", "name": "job"},
        "inputs": [{"namespace": "ns", "name": "in"}],
        "outputs": [{"namespace": "ns", "name": "out"}],
        "producer": "https://example.test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    place = {
        "run": event["run"],
        "job": event["job"],
        "dataset": event["outputs"][0],
        "input": event["inputs"][0],
        "output": event["outputs"][0],
    }[kind]
    place[{"input": "inputFacets", "output": "outputFacets"}.get(kind, "facets")] = facets
    return decode(json.dumps(event)).leniencies


@pytest.mark.parametrize(("base", "facets"), FACET_EXAMPLES)
def test_facet_examples_raise_no_leniency(base: str, facets: dict[str, Any]) -> None:
    kind, _ = KINDS[base]
    schema_ok = not [
        e
        for name, facet in facets.items()
        for s in facet_schemas()[kind].get(name, [])
        for e in _validator(s).iter_errors({name: facet})
    ]
    assert schema_ok, "spec examples are valid by definition"
    assert _leniencies_of(kind, facets) == set(), f"the model finds fault with a spec example of {sorted(facets)}"


def test_facet_examples_cover_every_typed_facet() -> None:
    covered = {(KINDS[p.values[0]][0], name) for p in FACET_EXAMPLES for name in p.values[1]}
    typed = {(kind, name) for kind, known in KINDS.values() for name in known}
    # Facets the spec ships no example of; each is still checked on the real events above.
    assert typed - covered <= {("input", "inputStatistics"), ("dataset", "version"), ("run", "tags")}


@pytest.mark.parametrize(
    "event",
    [pytest.param(case.event, id=case.name) for case in ACCEPTED]
    + [pytest.param(p.values[1], id=p.id) for p in [*REAL, *_events("events/invalid")]],
)
def test_an_event_decoded_without_counting_leniencies_is_the_same_event(event: dict[str, Any]) -> None:
    """``decode_event`` (the merge, the ingest door) skips the facets' leniency checks; the event
    it gives is the one ``decode`` gives."""
    raw = json.dumps(event).encode()
    try:
        counted = decode(raw).event
    except InvalidEvent:
        with pytest.raises(InvalidEvent):
            decode_event(raw)
        return
    assert decode_event(raw) == counted
