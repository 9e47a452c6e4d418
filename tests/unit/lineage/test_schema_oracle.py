"""The OpenLineage JSON schemas as a test oracle for the event model.

Every event under events/real and events/invalid, spec/tests/example_full_event.json, and every
facet example under spec/tests is run through the spec's JSON schemas (core 2-0-2 plus the facet
schemas, each facet checked by the schema that defines its name for its place in the event) and
through ``lineage.events`` / ``lineage.facets``. They must agree, except where the model is
knowingly more lenient; each such case is listed in LENIENT with the reason, and the test checks
that the schema's complaint is exactly that one.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from lineage.events import InvalidEvent, decode_event
from lineage.facets import DATASET_FACETS, INPUT_FACETS, JOB_FACETS, OUTPUT_FACETS, RUN_FACETS, FacetError, check_facets

OPENLINEAGE = Path(__file__).resolve().parents[4] / "shared" / "openlineage"
SPEC = OPENLINEAGE / "spec"

# What the schemas reject but the model knowingly accepts (lineage.events, lineage.facets):
NAIVE_TIME = "is not a 'date-time'"  # timestamps without an offset: read as UTC
NOT_A_URI = "is not a 'uri'"  # string formats inside facets are not checked
NO_COLUMN_METRICS = "'columnMetrics' is a required property"  # a rowCount alone is accepted
LENIENT = {
    "events/real/docs/website__docs__integrations__spark__quickstart__quickstart_databricks.md.json": [NOT_A_URI],
    "events/real/other/client-python/serde_example_run_event.json": [NAIVE_TIME],
    "events/real/other/client-python/serde_example_dataset_event.json": [NAIVE_TIME],
    "events/real/other/client-python/serde_example_job_event.json": [NAIVE_TIME],
    "events/real/other/fluentd-proxy/events/event_full.json": [NO_COLUMN_METRICS, NOT_A_URI],
}

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


def schema_errors(event: dict[str, Any]) -> list[str]:
    # The event's own definition rather than the core's oneOf, so that errors say what is wrong.
    kind = "RunEvent" if "run" in event else "DatasetEvent" if "dataset" in event else "JobEvent"
    core = {"$ref": f"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/{kind}"}
    errors = [e.message for e in _validator(core).iter_errors(event)]
    for kind, facets in _facet_maps(event):
        for name, facet in facets.items():
            for schema in facet_schemas()[kind].get(name, []):
                errors += [f"{kind}.{name}: {e.message}" for e in _validator(schema).iter_errors({name: facet})]
    return errors


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=registry(), format_checker=FormatChecker())


def _facet_maps(event: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    maps = [("run", (event.get("run") or {}).get("facets")), ("job", (event.get("job") or {}).get("facets"))]
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


def test_the_corpora_are_there() -> None:
    assert len(REAL) == 11 and len(INVALID) == 6


@pytest.mark.parametrize(("rel", "event"), REAL)
def test_real_events_pass_the_model_and_the_schema_agrees(rel: str, event: dict[str, Any]) -> None:
    decoded = decode_event(json.dumps(event))  # raises InvalidEvent if the model refuses it
    errors = schema_errors(event)
    if rel in LENIENT:
        assert errors, f"{rel} now passes the schema: drop it from LENIENT"
        assert all(any(known in e for known in LENIENT[rel]) for e in errors), errors
    else:
        assert errors == [], errors
    assert type(decoded).__name__ in ("RunEvent", "DatasetEvent", "JobEvent")


@pytest.mark.parametrize(("rel", "event"), INVALID)
def test_invalid_events_fail_both(rel: str, event: dict[str, Any]) -> None:
    assert schema_errors(event), f"the schema accepts {rel}"
    with pytest.raises(InvalidEvent):
        decode_event(json.dumps(event))


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


@pytest.mark.parametrize(("base", "facets"), FACET_EXAMPLES)
def test_facet_examples_agree(base: str, facets: dict[str, Any]) -> None:
    kind, known = KINDS[base]
    schema_ok = not [
        e
        for name, facet in facets.items()
        for s in facet_schemas()[kind].get(name, [])
        for e in _validator(s).iter_errors({name: facet})
    ]
    try:
        check_facets(facets, known)
        model_ok = True
    except FacetError:
        model_ok = False
    assert schema_ok, "spec examples are valid by definition"
    assert model_ok, f"the model refuses a spec example of {sorted(facets)}"


def test_facet_examples_cover_every_typed_facet() -> None:
    covered = {(KINDS[p.values[0]][0], name) for p in FACET_EXAMPLES for name in p.values[1]}
    typed = {(kind, name) for kind, known in KINDS.values() for name in known}
    # Facets the spec ships no example of; each is still checked on the real events above.
    assert typed - covered <= {("input", "inputStatistics"), ("dataset", "version"), ("run", "tags")}
