"""OpenLineage events (spec 2-0-2): RunEvent, DatasetEvent and JobEvent as pydantic models.

The fields the graph needs are typed; everything else is kept as data (``extra="allow"``) and
facets stay plain JSON objects (checked by ``lineage.facets``), so an event can be written back
unchanged. ``decode_event`` turns raw bytes into one of the three models or raises InvalidEvent
with a reason code a person can act on (REASONS).

Where the model differs from the JSON schemas (tests/unit/lineage/test_schema_oracle.py checks
each case against the spec's own files): more lenient on naive timestamps (below), lower-case
eventType values, and the facet details listed in ``lineage.facets``; stricter on empty job and
dataset names (they would make nameless graph nodes) and on unfilled test-template placeholders
(``${json-unit.any-string}``, ``{{ any(result) }}``), which no real integration sends.

Timestamps: ``eventTime`` must carry an offset per the spec, but real clients (the Python
client's serde examples, for one) send naive ISO timestamps. A naive timestamp is read as UTC,
the only reading that does not depend on the machine that parses it. Every eventTime is then
converted to UTC, so one instant has one representation whatever offset the sender used.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lineage.facets import (
    DATASET_FACETS,
    INPUT_FACETS,
    JOB_FACETS,
    OUTPUT_FACETS,
    RUN_FACETS,
    FacetError,
    check_facets,
)
from lineage.keys import DatasetKey, JobKey
from lineage.naming import normalize

Facets = dict[str, Any]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


def _facets_validator(known: dict[str, Any]) -> Any:
    def check(cls: type, value: Any) -> Facets:
        try:
            return check_facets(value, known)
        except FacetError as exc:
            raise ValueError(str(exc)) from exc

    return classmethod(check)


class Run(_Model):
    runId: UUID
    facets: Facets = Field(default_factory=dict)

    _check = field_validator("facets", mode="before")(_facets_validator(RUN_FACETS))


class Job(_Model):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    facets: Facets = Field(default_factory=dict)

    _check = field_validator("facets", mode="before")(_facets_validator(JOB_FACETS))

    @property
    def key(self) -> JobKey:
        return JobKey(self.namespace, self.name)


class Dataset(_Model):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    facets: Facets = Field(default_factory=dict)

    _check = field_validator("facets", mode="before")(_facets_validator(DATASET_FACETS))

    @property
    def key(self) -> DatasetKey:
        """The dataset's identity, normalised (lineage.naming): one dataset, one key."""
        return normalize(self.namespace, self.name)


class InputDataset(Dataset):
    inputFacets: Facets = Field(default_factory=dict)

    _check_input = field_validator("inputFacets", mode="before")(_facets_validator(INPUT_FACETS))


class OutputDataset(Dataset):
    outputFacets: Facets = Field(default_factory=dict)

    _check_output = field_validator("outputFacets", mode="before")(_facets_validator(OUTPUT_FACETS))


class _Event(_Model):
    eventTime: datetime
    producer: str
    schemaURL: str

    @field_validator("eventTime", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("eventTime must be an ISO-8601 string")
        return value

    @field_validator("eventTime")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # One instant, one representation: the graph must not depend on the sender's offset.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RunEvent(_Event):
    eventType: str | None = Field(default=None, pattern="^(START|RUNNING|COMPLETE|ABORT|FAIL|OTHER)$")
    run: Run

    @field_validator("eventType", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        # The spec's values are upper case; "complete" is read as COMPLETE rather than refused.
        return value.upper() if isinstance(value, str) else value

    job: Job
    inputs: list[InputDataset] = Field(default_factory=list)
    outputs: list[OutputDataset] = Field(default_factory=list)


class DatasetEvent(_Event):
    """Static metadata about one dataset, outside any run."""

    dataset: Dataset


class JobEvent(_Event):
    """Static metadata about one job and its declared inputs and outputs, outside any run."""

    job: Job
    inputs: list[InputDataset] = Field(default_factory=list)
    outputs: list[OutputDataset] = Field(default_factory=list)


AnyEvent = RunEvent | DatasetEvent | JobEvent


class InvalidEvent(ValueError):
    """An event that cannot be processed.

    ``reason`` is a stable code (see REASONS) for dead letters and HTTP answers, ``message`` a
    one-line summary for people, ``errors`` the individual problems as ``{"loc", "msg"}``.
    """

    def __init__(self, reason: str, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.errors = errors or [{"loc": "", "msg": message}]


# The reason codes an InvalidEvent carries.
REASONS = {
    "not-json": "the bytes are not JSON (or not UTF-8)",
    "not-an-object": "the JSON is not an object",
    "too-large": "the event is larger than LINEAGE_MAX_EVENT_BYTES",
    "too-deep": "the JSON is nested deeper than the parser allows (about 200 levels)",
    "unresolved-placeholder": "a test-template placeholder (${json-unit...}, {{ any(result) }}) was never filled in",
    "not-an-event": "the object has none of run, job or dataset, so it is no OpenLineage event",
    "missing-run-id": "a run event without run.runId",
    "bad-run-id": "run.runId is not a UUID",
    "bad-event-time": "eventTime is missing or not an ISO-8601 timestamp",
    "schema-invalid": "the event breaks the OpenLineage schema (the message says where)",
    "processing-error": "the processor failed on an event it accepted (a bug: please report it)",
    "output-too-large": "a graph upsert the event's run maps to is larger than a Kafka message (16 MiB)",
    "state-too-large": "the run's merged state would be larger than a Kafka message (16 MiB)",
}

_PLACEHOLDER = re.compile(r"^\$\{json-unit\.|^\{\{.*\b(result|env_var)\b.*\}\}$", re.DOTALL)
_PLACEHOLDER_HINTS = (b"${json-unit.", b"result", b"env_var")


def decode_event(raw: bytes | str, max_bytes: int | None = None) -> AnyEvent:
    """Parse one JSON-encoded OpenLineage event, or raise InvalidEvent naming what was wrong."""
    data = raw.encode() if isinstance(raw, str) else raw
    if max_bytes is not None and len(data) > max_bytes:
        raise InvalidEvent("too-large", f"event of {len(data)} bytes is over the limit of {max_bytes} bytes")
    try:
        obj = pydantic_core.from_json(data)
    except ValueError as exc:
        if "recursion limit" in str(exc):  # the parser's own bound keeps deep input harmless
            raise InvalidEvent("too-deep", f"JSON nested too deeply ({exc})") from exc
        raise InvalidEvent("not-json", str(exc)) from exc
    if not isinstance(obj, dict):
        raise InvalidEvent("not-an-object", f"expected a JSON object, got {_json_type(obj)}")
    if any(hint in data for hint in _PLACEHOLDER_HINTS):
        where = _find_placeholder(obj, "")
        if where is not None:
            field, matcher = where
            raise InvalidEvent("unresolved-placeholder", f"{field or '(event)'} is the template matcher {matcher!r}")
    model: type[AnyEvent]
    if "run" in obj or "eventType" in obj:
        model = RunEvent
    elif "dataset" in obj:
        model = DatasetEvent
    elif "job" in obj:
        model = JobEvent
    else:
        raise InvalidEvent("not-an-event", "an OpenLineage event has run and job, a dataset, or a job")
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise _invalid(exc, model) from exc


def decode_run_event(raw: bytes | str) -> RunEvent:
    """Parse one RunEvent (tests and tools that deal only in runs)."""
    event = decode_event(raw)
    if not isinstance(event, RunEvent):
        raise InvalidEvent("schema-invalid", f"expected a RunEvent, got a {type(event).__name__}")
    return event


def _invalid(exc: ValidationError, model: type[AnyEvent]) -> InvalidEvent:
    errors = [
        {"loc": ".".join(str(p) for p in err["loc"]) or "(event)", "msg": err["msg"].removeprefix("Value error, ")}
        for err in exc.errors()
    ]
    reason = _reason(exc.errors(), model)
    summary = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:5])
    if len(errors) > 5:
        summary += f"; and {len(errors) - 5} more"
    return InvalidEvent(reason, summary, errors)


def _reason(errors: list[Any], model: type[AnyEvent]) -> str:
    """The most telling reason among all errors: a run id problem, then eventTime, then the rest."""
    locs = [(tuple(err["loc"]), err["type"]) for err in errors]
    if model is RunEvent:
        for loc, kind in locs:
            if (loc == ("run",) and kind == "missing") or (loc == ("run", "runId") and kind == "missing"):
                return "missing-run-id"
        if any(loc == ("run", "runId") for loc, _ in locs):
            return "bad-run-id"
    if any(loc == ("eventTime",) for loc, _ in locs):
        return "bad-event-time"
    return "schema-invalid"


def _find_placeholder(value: Any, where: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        return (where, value) if _PLACEHOLDER.search(value) else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _find_placeholder(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")
