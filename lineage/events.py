"""OpenLineage events (spec 2-0-2): RunEvent, DatasetEvent and JobEvent as pydantic models.

The fields the graph needs are typed; everything else is kept as data (``extra="allow"``) and
facets stay plain JSON objects (looked at by ``lineage.facets``), so an event can be written back
unchanged. ``decode`` turns raw bytes into one of the three models and the leniencies it took, or
raises InvalidEvent with a reason code a person can act on (REASONS).

What is accepted: what Marquez's ``POST /api/v1/lineage`` would accept and store, and more (the
comparison, field by field, is docs/accepted-events.md). The spec's JSON schemas are a test
oracle, not a gate: an event is refused only when it is unsafe (too large, too deep), cannot be
identified (no usable run id, no job namespace and name, no eventTime), or is no event at all.
Everything else that breaks the schema is accepted and counted as a leniency (LENIENCIES), never
silently changed: facets are kept as sent, and a value the model reads differently (a naive
time read as UTC, a text run id keyed by a UUID derived from it) is documented and counted.

Stricter than the schemas: empty job and dataset names are refused (they would make nameless
graph nodes), and so are unfilled test-template placeholders (``${json-unit.any-string}``,
``{{ any(result) }}``), which no real integration sends.

Timestamps: ``eventTime`` must carry an offset per the spec, but real clients (the Python
client's serde examples, for one) send naive ISO timestamps. A naive timestamp is read as UTC,
the only reading that does not depend on the machine that parses it. Every eventTime is then
converted to UTC, so one instant has one representation whatever offset the sender used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import pydantic_core
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from lineage.facets import (
    DATASET_FACETS,
    INPUT_FACETS,
    JOB_FACETS,
    OUTPUT_FACETS,
    RUN_FACETS,
    check_facets,
    lenient,
)
from lineage.keys import DatasetKey, JobKey
from lineage.naming import is_uuid, normalize, run_key

Facets = dict[str, Any]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


def _facets_validator(known: dict[str, Any]) -> Any:
    def check(cls: type, value: Any, info: ValidationInfo) -> Facets:
        return check_facets(value, known, info)

    return classmethod(check)


def _as_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


# A name with something in it that is not white space (checked by pydantic's own regex engine).
NAME = Annotated[StrictStr, Field(pattern=r"\S")]


class Run(_Model):
    # As sent: the run's identity is ``key``, a UUID (lineage.naming.run_key).
    runId: NAME
    facets: Facets = Field(default_factory=dict)

    _check = field_validator("facets", mode="before")(_facets_validator(RUN_FACETS))

    @property
    def key(self) -> UUID:
        """The UUID the run is keyed by: runId itself, or one derived from its text."""
        return run_key(self.runId)

    @property
    def sent_id(self) -> str | None:
        """The run id as sent when it is no UUID (the graph keeps it as ``sentRunId``)."""
        return None if is_uuid(self.runId) else self.runId


class Job(_Model):
    namespace: NAME
    name: NAME
    facets: Facets = Field(default_factory=dict)

    _check = field_validator("facets", mode="before")(_facets_validator(JOB_FACETS))

    @property
    def key(self) -> JobKey:
        return JobKey(self.namespace, self.name)


class Dataset(_Model):
    namespace: NAME
    name: NAME
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


# The spec versions this product knows (spec/versioned); a newer one is read as 2-0-2.
SPEC_VERSIONS = frozenset({"1-0-0", "1-0-1", "1-0-2", "1-0-3", "1-0-4", "1-0-5", "2-0-0", "2-0-1", "2-0-2"})
_SPEC_VERSION = re.compile(r"/spec/(\d+-\d+-\d+)/")
_ISO_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}")


class _Event(_Model):
    eventTime: datetime
    producer: StrictStr
    schemaURL: str | None = None

    @field_validator("eventTime", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        # ISO 8601 only: pydantic would also read "1700000000" as seconds since 1970.
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            raise ValueError("eventTime must be an ISO-8601 string")
        return value

    @field_validator("eventTime")
    @classmethod
    def _utc(cls, value: datetime, info: ValidationInfo) -> datetime:
        # One instant, one representation: the graph must not depend on the sender's offset.
        if value.tzinfo is None:
            lenient(info, "naive-event-time")
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first UTC instant Python has
            raise ValueError("eventTime is out of range") from None


EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
# Spellings of the spec's values that are unambiguous: the run states instead of the events.
EVENT_TYPE_SPELLINGS = {"STARTED": "START", "COMPLETED": "COMPLETE", "ABORTED": "ABORT", "FAILED": "FAIL"}


class RunEvent(_Event):
    eventType: str | None = None
    run: Run
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
    "missing-run-id": "a run event without run.runId, or with an empty one",
    "bad-run-id": "run.runId is an object or a list, not text",
    "missing-job": "a run or job event without a job, or with one that is not an object or lacks a non-blank "
    "namespace and name",
    "bad-event-time": "eventTime is missing or not an ISO-8601 timestamp",
    "schema-invalid": "the event breaks the OpenLineage schema in a way no identity or graph survives: no "
    "producer, a run or dataset that is not an object, a dataset without a non-blank namespace and name, "
    "facets that are not a mapping, inputs or outputs that are not a list (the message says where)",
    "processing-error": "the processor failed on an event it accepted (a bug: please report it)",
    "output-too-large": "a graph upsert the event's run maps to is larger than a Kafka message (16 MiB)",
    "state-too-large": "the run's merged state would be larger than a Kafka message (16 MiB)",
    "bad-batch": "a message on the processor's internal runs topic that is not a batch of routed events "
    "(only a foreign producer writing to that topic could put it there)",
}

# The ways an event can break the spec and still be accepted, each counted per event
# (``Decoded.leniencies``; the processor logs the counts) and documented in docs/accepted-events.md.
LENIENCIES = {
    "no-schema-url": "no top-level schemaURL (OpenLineage 1.0-era clients, Marquez's seed data)",
    "unknown-spec-version": "schemaURL names a spec version this product does not know; read as 2-0-2",
    "job-event-with-event-type": "a job and an eventType but no run: read as a JobEvent, as Marquez does",
    "non-uuid-run-id": "a run id (the run's or its parent's) that is not a UUID: the run is keyed by a UUID "
    "derived from the text, as Marquez does, and the text is kept (Run.sentRunId)",
    "naive-event-time": "eventTime without an offset: read as UTC",
    "nonstandard-event-type": "eventType in lower case, or a run state's spelling (COMPLETED, FAILED...)",
    "scalar-as-text": "a number or boolean where the spec has text (a run id, a name, the producer): read as its text",
    "unknown-event-type": "an eventType that is none of the spec's six: read as OTHER (the run's state is kept)",
    "null-field": "null where the spec has facets, inputs or outputs: read as none",
    "facet-not-an-object": "a facet that is a string, number or list (kept as sent, not read by the graph) or "
    "null (ignored)",
    "facet-without-schema-url": "a facet without _producer or _schemaURL: kept as sent",
    "malformed-facet": "a facet the graph reads breaks its schema: kept as sent, read for what it can give",
}

_PLACEHOLDER = re.compile(r"^\$\{json-unit\.|^\{\{.*\b(result|env_var)\b.*\}\}$", re.DOTALL)
_PLACEHOLDER_HINTS = (b"${json-unit.", b"result", b"env_var")


@dataclass(frozen=True)
class Decoded:
    """A valid event and the leniencies (LENIENCIES) it was accepted with."""

    event: AnyEvent
    leniencies: frozenset[str] = frozenset()


def decode(raw: bytes | str, max_bytes: int | None = None, *, count_leniencies: bool = True) -> Decoded:
    """Parse one JSON-encoded OpenLineage event, or raise InvalidEvent naming what was wrong.

    Without ``count_leniencies``, the facets' leniencies are neither looked for nor reported: they
    never make an event invalid, and checking known facets against their schemas is a tenth of
    the processor's work per event. The event is the same."""
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
    leniencies: set[str] = set()
    model = _kind(obj, leniencies)
    _prepare(obj, model, leniencies)
    try:
        event = model.model_validate(obj, context=leniencies if count_leniencies else None)
    except ValidationError as exc:
        # Rare, so not paid for by every event: numbers or booleans where text belongs, read as
        # their text (then validated again, which counts the facets' leniencies afresh).
        if not _scalars_as_text(obj, exc):
            raise _invalid(exc, model) from exc
        leniencies = {kind for kind in leniencies if kind in _EVENT_LEVEL} | {"scalar-as-text"}
        try:
            event = model.model_validate(obj, context=leniencies if count_leniencies else None)
        except ValidationError as again:
            raise _invalid(again, model) from again
    if isinstance(event, RunEvent) and not is_uuid(event.run.runId):
        leniencies.add("non-uuid-run-id")
    return Decoded(event, frozenset(leniencies))


# The leniencies ``_kind`` and ``_prepare`` note, before pydantic validates.
_EVENT_LEVEL = frozenset(
    {
        "job-event-with-event-type",
        "no-schema-url",
        "unknown-spec-version",
        "null-field",
        "nonstandard-event-type",
        "unknown-event-type",
    }
)


def _prepare(obj: dict[str, Any], model: type[AnyEvent], leniencies: set[str]) -> None:
    """The event-level leniencies, noted and applied to the parsed object in place (plain dict
    work here costs less than validators pydantic would call for every event)."""
    url = obj.get("schemaURL")
    if url is None:
        leniencies.add("no-schema-url")
    elif isinstance(url, str):
        version = _SPEC_VERSION.search(url)
        if version is not None and version[1] not in SPEC_VERSIONS:
            leniencies.add("unknown-spec-version")
    if model is not DatasetEvent:
        for listed in ("inputs", "outputs"):
            if listed in obj and obj[listed] is None:
                obj[listed] = []
                leniencies.add("null-field")
    if model is RunEvent and obj.get("eventType") is not None:
        obj["eventType"] = _event_type(obj["eventType"], leniencies)


def _event_type(value: Any, leniencies: set[str]) -> Any:
    """The spec's eventType for what was sent: upper case, a run state's spelling read as its
    event's, anything else as OTHER (Marquez reads it as RUNNING; OTHER changes no run's state)."""
    text = _as_text(value)
    if text is not None:
        leniencies.add("scalar-as-text")
        value = text
    if not isinstance(value, str):
        return value  # refused as not text
    spelled = value.strip().upper()
    if spelled in EVENT_TYPES:
        if spelled != value:
            leniencies.add("nonstandard-event-type")
        return spelled
    if spelled in EVENT_TYPE_SPELLINGS:
        leniencies.add("nonstandard-event-type")
        return EVENT_TYPE_SPELLINGS[spelled]
    leniencies.add("unknown-event-type")
    return "OTHER"


# Where a number or boolean is read as text: the ids, names and producer the graph is keyed by.
_TEXT_FIELDS = frozenset({"runId", "namespace", "name", "producer"})


def _scalars_as_text(obj: dict[str, Any], exc: ValidationError) -> bool:
    """Put the text of each number or boolean that ``exc`` refused as no string, at an id, a
    name or the producer, in its place in ``obj``; whether there was any."""
    changed = False
    for err in exc.errors():
        loc = err["loc"]
        text = _as_text(err.get("input"))
        if err["type"] != "string_type" or text is None or not loc or loc[-1] not in _TEXT_FIELDS:
            continue
        parent: Any = obj
        for part in loc[:-1]:
            parent = parent[part]
        parent[loc[-1]] = text
        changed = True
    return changed


def decode_event(raw: bytes | str, max_bytes: int | None = None) -> AnyEvent:
    """The event alone (``decode``), for callers that do not count leniencies."""
    return decode(raw, max_bytes, count_leniencies=False).event


def _kind(obj: dict[str, Any], leniencies: set[str]) -> type[AnyEvent]:
    """Which event an object is: a run, else a dataset, else a job.

    A job with an eventType but no run is a JobEvent (Marquez's own fixtures send them so), unless
    its schemaURL says it is a RunEvent: then it is a run event that lost its run.
    """
    if "run" in obj:
        return RunEvent
    if "dataset" in obj:
        return DatasetEvent
    if "job" in obj:
        if "eventType" not in obj:
            return JobEvent
        url = obj.get("schemaURL")
        if isinstance(url, str) and url.endswith("/RunEvent"):
            return RunEvent
        leniencies.add("job-event-with-event-type")
        return JobEvent
    if "eventType" in obj:
        return RunEvent
    raise InvalidEvent("not-an-event", "an OpenLineage event has run and job, a dataset, or a job")


def decode_run_event(raw: bytes | str) -> RunEvent:
    """Parse one RunEvent (tests and tools that deal only in runs)."""
    event = decode_event(raw)
    if not isinstance(event, RunEvent):
        raise InvalidEvent("schema-invalid", f"expected a RunEvent, got a {type(event).__name__}")
    return event


def _invalid(exc: ValidationError, model: type[AnyEvent]) -> InvalidEvent:
    errors = [
        {
            "loc": ".".join(str(p) for p in err["loc"]) or "(event)",
            "msg": "must not be empty or blank"
            if err["type"] == "string_pattern_mismatch"
            else err["msg"].removeprefix("Value error, "),
        }
        for err in exc.errors()
    ]
    reason = _reason(exc.errors(), model)
    summary = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:5])
    if len(errors) > 5:
        summary += f"; and {len(errors) - 5} more"
    return InvalidEvent(reason, summary, errors)


def _reason(errors: list[Any], model: type[AnyEvent]) -> str:
    """The most telling reason among all errors: the run's identity, the job's, then eventTime."""
    locs = [(tuple(err["loc"]), err["type"]) for err in errors]
    if model is RunEvent:
        for loc, kind in locs:
            if loc in (("run",), ("run", "runId")) and kind in ("missing", "none_required", "string_pattern_mismatch"):
                return "missing-run-id"
            if loc == ("run",) and kind == "model_type":
                return "missing-run-id" if _is_null(errors, loc) else "schema-invalid"
        if any(loc == ("run", "runId") for loc, _ in locs):
            return "bad-run-id"
    if model is not DatasetEvent and any(loc in (("job",), ("job", "namespace"), ("job", "name")) for loc, _ in locs):
        return "missing-job"
    if any(loc == ("eventTime",) for loc, _ in locs):
        return "bad-event-time"
    return "schema-invalid"


def _is_null(errors: list[Any], loc: tuple[Any, ...]) -> bool:
    return any(tuple(err["loc"]) == loc and err.get("input") is None for err in errors)


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
