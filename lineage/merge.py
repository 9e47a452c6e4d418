"""Merging the events of one run into its current state.

The merged run is a pure function of the *set* of events seen: ``merge_event`` is commutative,
associative and idempotent, so arrival order, duplicates and replays change nothing.

Rules (DESIGN.md section 3):
- state is the join of the states the events imply (see ``run_state``); terminal is sticky;
- startedAt is the earliest START/RUNNING eventTime; endedAt is the earliest eventTime of the
  events that carry the winning terminal state;
- inputs and outputs accumulate: a later event never removes a dataset;
- a facet with the same name replaces the older one whole: the latest eventTime wins, ties go to
  the higher event-type rank, then to the larger digest of the canonical JSON, never to arrival
  order (``StampedFacet.stamp``; the sink applies the same order across runs);
  ``{"_deleted": true}`` is a stamped tombstone, so a later re-add or an older write both resolve;
- what a dataset's facets say about other graph elements accumulates over every version seen, so
  it does not depend on which version happened to be current when: the schema fields it ever
  listed (each with its latest type and description), the column lineage it ever declared (each
  output-field/input-field pair with its latest transformations) and the aliases it ever declared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from lineage.canonical import canonical_json
from lineage.events import Dataset, RunEvent
from lineage.keys import DatasetKey, JobKey
from lineage.naming import declared_aliases, normalize
from lineage.run_state import RunState

EVENT_TYPE_RANK = {"OTHER": 0, "START": 1, "RUNNING": 2, "COMPLETE": 3, "ABORT": 4, "FAIL": 5}


class StampedFacet(BaseModel):
    """One facet value with what decides which of two versions wins."""

    model_config = ConfigDict(frozen=True, ignored_types=(cached_property,))

    time: datetime
    rank: int
    value: Any  # None is a tombstone from {"_deleted": true}

    @cached_property
    def value_json(self) -> str | None:
        """The value as canonical JSON text (``lineage.canonical``; None for a tombstone)."""
        return None if self.value is None else canonical_json(self.value)

    @cached_property
    def stamp(self) -> str:
        """A string whose order is the winning order: ``UTC time|rank|digest of the value``.

        Fixed width and ASCII, so Python and Cypher compare it the same way; the sink keeps, per
        facet, the value with the greatest stamp it has seen (``sinks.cypher``).
        """
        utc = _utc_text(self.time)
        digest = hashlib.sha256((self.value_json or "").encode()).hexdigest()[:16]
        return f"{utc}|{self.rank}|{digest}"

    def wins_over(self, other: StampedFacet) -> bool:
        """``self.stamp > other.stamp``, without writing the value out unless time and rank tie
        (event times are always zone-aware: ``lineage.events`` reads a naive one as UTC)."""
        if self.time != other.time:
            return self.time > other.time
        if self.rank != other.rank:
            return self.rank > other.rank
        return self.stamp > other.stamp


FacetMap = dict[str, StampedFacet]


@lru_cache(maxsize=4096)
def _utc_text(time: datetime) -> str:
    """A time as a stamp writes it (the facets of one event share it)."""
    return time.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


Alias = tuple[str, str, str, str]  # alias namespace, alias name, canonical namespace, canonical name


class DatasetState(BaseModel):
    model_config = ConfigDict(frozen=True)

    namespace: str
    name: str
    facets: FacetMap = Field(default_factory=dict)
    # Every field any schema version listed: name -> {"type", "description"}, latest version wins.
    fields: FacetMap = Field(default_factory=dict)
    # Every column-lineage pair any columnLineage version declared, keyed by ``lineage_id``:
    # the output field, the input field, and the transformations the latest version gave.
    lineage: FacetMap = Field(default_factory=dict)
    # Every (alias, canonical) pair any version declared, sorted.
    aliases: tuple[Alias, ...] = ()

    @property
    def key(self) -> DatasetKey:
        return DatasetKey(self.namespace, self.name)


class MergedRun(BaseModel):
    """Everything known about one run, from all of its events so far."""

    model_config = ConfigDict(frozen=True)

    run_id: UUID
    # The run id as the producer sent it, when it was text rather than a UUID (run_id is then
    # derived from it: lineage.naming.run_key).
    sent_run_id: str | None = None
    job_namespace: str
    job_name: str
    state: RunState = RunState.NEW
    started_at: datetime | None = None
    terminal_at: dict[RunState, datetime] = Field(default_factory=dict)
    # The earliest and the latest eventTime of any event of the run (they only widen).
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None
    run_facets: FacetMap = Field(default_factory=dict)
    job_facets: FacetMap = Field(default_factory=dict)
    inputs: dict[str, DatasetState] = Field(default_factory=dict)
    outputs: dict[str, DatasetState] = Field(default_factory=dict)

    @property
    def job(self) -> JobKey:
        return JobKey(self.job_namespace, self.job_name)

    @property
    def ended_at(self) -> datetime | None:
        return self.terminal_at.get(self.state) if self.state.is_done() else None


def merge_event(current: MergedRun | None, event: RunEvent) -> MergedRun:
    """Fold one event into a run's state (``current`` is None for the first event seen)."""
    incoming = _from_event(event)
    return incoming if current is None else merge_runs(current, incoming)


def merge_runs(a: MergedRun, b: MergedRun) -> MergedRun:
    """Join two partial states of the same run."""
    if a.run_id != b.run_id:
        raise ValueError(f"cannot merge run {a.run_id} with run {b.run_id}")
    # All events of a run should name one job; if a producer disagrees with itself, the
    # smaller key wins so the answer still does not depend on arrival order.
    job = min(a.job, b.job)
    terminal_at = dict(a.terminal_at)
    for state, time in b.terminal_at.items():
        terminal_at[state] = min(time, terminal_at.get(state, time))
    return MergedRun(
        run_id=a.run_id,
        sent_run_id=_min_text(a.sent_run_id, b.sent_run_id),
        job_namespace=job.namespace,
        job_name=job.name,
        state=a.state.join(b.state),
        started_at=_min_time(a.started_at, b.started_at),
        terminal_at=terminal_at,
        first_event_at=_min_time(a.first_event_at, b.first_event_at),
        last_event_at=_max_time(a.last_event_at, b.last_event_at),
        run_facets=_merge_facets(a.run_facets, b.run_facets),
        job_facets=_merge_facets(a.job_facets, b.job_facets),
        inputs=_merge_datasets(a.inputs, b.inputs),
        outputs=_merge_datasets(a.outputs, b.outputs),
    )


def live_facets(facets: FacetMap) -> dict[str, Any]:
    """The facets as a plain mapping, without tombstones."""
    return {name: f.value for name, f in sorted(facets.items()) if f.value is not None}


def dataset_id(key: DatasetKey) -> str:
    """A string form of a dataset key usable as a JSON object key (namespaces contain '/')."""
    return f"{key.namespace}\x00{key.name}"


def _from_event(event: RunEvent) -> MergedRun:
    event_type = (event.eventType or "OTHER").upper()
    state = RunState.from_event_type(event_type)
    stamp = (event.eventTime, EVENT_TYPE_RANK.get(event_type, 0))
    return MergedRun(
        run_id=event.run.key,
        sent_run_id=event.run.sent_id,
        job_namespace=event.job.namespace,
        job_name=event.job.name,
        state=state,
        started_at=event.eventTime if state is RunState.RUNNING else None,
        terminal_at={state: event.eventTime} if state.is_done() else {},
        first_event_at=event.eventTime,
        last_event_at=event.eventTime,
        run_facets=stamp_facets(event.run.facets, stamp),
        job_facets=stamp_facets(event.job.facets, stamp),
        inputs=stamped_datasets(event.inputs, stamp),
        outputs=stamped_datasets(event.outputs, stamp),
    )


def stamped_datasets(datasets: Sequence[Dataset], stamp: tuple[datetime, int]) -> dict[str, DatasetState]:
    """Datasets keyed by their normalised identity, facets stamped with (eventTime, event rank)."""
    out: dict[str, DatasetState] = {}
    for ds in datasets:
        key = ds.key
        state = DatasetState(
            namespace=key.namespace,
            name=key.name,
            facets=stamp_facets(ds.facets, stamp),
            fields=stamp_facets(_schema_fields(ds.facets), stamp),
            lineage=stamp_facets(_column_lineage(ds.facets), stamp),
            aliases=tuple(
                sorted((a.namespace, a.name, c.namespace, c.name) for a, c in declared_aliases(key, ds.facets))
            ),
        )
        ident = dataset_id(key)
        out[ident] = _merge_dataset(out[ident], state) if ident in out else state
    return out


def stamp_facets(facets: dict[str, Any], stamp: tuple[datetime, int]) -> FacetMap:
    """An event's facets with what decides between versions: (eventTime, event-type rank)."""
    time, rank = stamp
    out = {}
    for name, value in facets.items():
        if value is None:
            continue  # a null facet says nothing (a leniency): neither a value nor a deletion
        deleted = isinstance(value, dict) and value.get("_deleted") is True
        out[name] = StampedFacet(time=time, rank=rank, value=None if deleted else value)
    return out


def _merge_facets(a: FacetMap, b: FacetMap) -> FacetMap:
    if not b:
        return a
    out = dict(a)
    for name, facet in b.items():
        mine = out.get(name)
        if mine is None or facet.wins_over(mine):
            out[name] = facet
    return out


def _merge_dataset(a: DatasetState, b: DatasetState) -> DatasetState:
    return DatasetState(
        namespace=a.namespace,
        name=a.name,
        facets=_merge_facets(a.facets, b.facets),
        fields=_merge_facets(a.fields, b.fields),
        lineage=_merge_facets(a.lineage, b.lineage),
        aliases=tuple(sorted(set(a.aliases) | set(b.aliases))) if b.aliases else a.aliases,
    )


def lineage_id(field: str, source: DatasetKey, source_field: str) -> str:
    return "\x00".join((field, source.namespace, source.name, source_field))


def _column_lineage(facets: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The columnLineage facet's pairs: lineage_id -> {field, source, transformations}.

    Input datasets are normalised like any identity. Transformations are kept as listed (type,
    subtype, description, masking); the deprecated field-level ``transformationType`` becomes
    one transformation of that type. A malformed facet or entry contributes nothing.
    """
    facet = facets.get("columnLineage")
    fields = facet.get("fields") if isinstance(facet, dict) else None
    out: dict[str, dict[str, Any]] = {}
    for field, spec in fields.items() if isinstance(fields, dict) else ():
        if not isinstance(spec, dict) or not isinstance(spec.get("inputFields"), list):
            continue
        legacy = _text(spec.get("transformationType"))
        for source in spec["inputFields"]:
            if not isinstance(source, dict):
                continue
            namespace, name, source_field = (_text(source.get(k)) for k in ("namespace", "name", "field"))
            if not (namespace and name and source_field):
                continue
            listed = source.get("transformations")
            transformations = [
                {k: t.get(k) for k in ("type", "subtype", "description", "masking") if t.get(k) is not None}
                for t in (listed if isinstance(listed, list) else [])
                if isinstance(t, dict)
            ]
            if not transformations and legacy:
                transformations = [{"type": legacy, "masking": legacy.upper() == "MASKED"}]
            key = normalize(namespace, name)
            out[lineage_id(field, key, source_field)] = {
                "field": field,
                "source": [key.namespace, key.name, source_field],
                "transformations": transformations,
            }
    return out


def _schema_fields(facets: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    """The fields a schema facet lists, by name (a malformed schema lists none)."""
    schema = facets.get("schema")
    listed = schema.get("fields") if isinstance(schema, dict) else None
    out = {}
    for field in listed if isinstance(listed, list) else []:
        if isinstance(field, dict) and isinstance(field.get("name"), str) and field["name"]:
            out[field["name"]] = {"type": _text(field.get("type")), "description": _text(field.get("description"))}
    return out


def _text(value: Any) -> str | None:
    """Scalars as text (a numeric type name is still a name); objects and lists are not text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _merge_datasets(a: dict[str, DatasetState], b: dict[str, DatasetState]) -> dict[str, DatasetState]:
    out = dict(a)
    for ident, ds in b.items():
        out[ident] = _merge_dataset(out[ident], ds) if ident in out else ds
    return out


def _max_time(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _min_text(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else min(a, b)


def _min_time(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
