"""What the processor does with one event, as pure functions the Faust agents call.

``route``: decode and validate raw bytes; say where they go (the runs topic, keyed by the entity
the event is about, or the dead-letter topic with a reason). ``apply``: fold a run event into
the stored state of its run, or map a static DatasetEvent/JobEvent, and return the graph
mutations to emit.

Change-only output: a run event emits only the mutations that differ from what the run's
previous state already emitted, so a duplicate or a replayed event emits nothing. The stored
state remembers the highest offset (on the runs topic) of an event that changed it. An event at
or below that offset is a redelivery after a crash or a rebalance: its state may have been saved
while its mutations never reached Kafka, so it emits the run's full state again (mutations are
idempotent upserts, so emitting twice is harmless; emitting nothing could lose them), and it
stores the state again even if unchanged: the worker's local store may hold a state the
changelog never received (see ``apply``). A redelivered event can also be one that was skipped
the first time (Faust may drop fetched messages at a rebalance and deliver them again from the
committed offset), so it is merged like any other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from lineage.events import AnyEvent, DatasetEvent, InvalidEvent, JobEvent, RunEvent, decode, decode_event
from lineage.graph_mapping import dataset_event_mutations, job_event_mutations, run_mutations
from lineage.merge import MergedRun, merge_event
from lineage.mutations import AnyMutation

# A run's stored state: JSON bytes of ``{"run": MergedRun, "offset": int | None}``, encoded and
# decoded by pydantic in one step (the processor's table stores them as they are).
StoredRun = bytes
Mutations = list[AnyMutation]


@dataclass(frozen=True)
class Routed:
    key: bytes
    leniencies: frozenset[str] = frozenset()  # how the event breaks the spec (lineage.events.LENIENCIES)


@dataclass(frozen=True)
class Rejected:
    reason: str
    message: str


@dataclass(frozen=True)
class Applied:
    """What one event did: the state to store (None: leave it as it is) and what to emit.

    ``redelivered``: the event had been applied before, so ``mutations`` is the full state and
    must be sent whatever a cache of sent mutations says.
    """

    stored: StoredRun | None
    mutations: Mutations = field(default_factory=list)
    redelivered: bool = False


def entity_key(event: AnyEvent) -> bytes:
    """The key every event about one thing shares: a run's id, or the dataset's or job's name."""
    if isinstance(event, RunEvent):
        return str(event.run.key).encode()
    if isinstance(event, DatasetEvent):
        return f"dataset:{event.dataset.namespace}/{event.dataset.name}".encode()
    return f"job:{event.job.namespace}/{event.job.name}".encode()


def route(raw: bytes, max_bytes: int | None = None) -> Routed | Rejected:
    try:
        decoded = decode(raw, max_bytes)
    except InvalidEvent as exc:
        return Rejected(exc.reason, exc.message)
    return Routed(entity_key(decoded.event), decoded.leniencies)


def apply(stored: StoredRun | None, raw: bytes, offset: int | None = None) -> Applied:
    """Fold one event (read at ``offset`` of the runs topic, if known) into its run's state.

    Raises InvalidEvent if ``raw`` is not a valid event (``route`` lets only valid ones through).
    """
    event = decode_event(raw)
    if isinstance(event, DatasetEvent):
        return Applied(None, dataset_event_mutations(event))
    if isinstance(event, JobEvent):
        return Applied(None, job_event_mutations(event))
    current, last_offset = _load(stored)
    merged = merge_event(current, event)
    changed = merged != current
    if current is not None and offset is not None and last_offset is not None and offset <= last_offset:
        # Stored again even when unchanged: a killed worker's RocksDB store keeps states whose
        # changelog records were lost with it, and only a write puts such a state in the changelog
        # before the event's offset is committed (a worker taking the partition later recovers
        # from the changelog alone).
        return Applied(_dump(merged, last_offset), run_mutations(merged), redelivered=True)
    if not changed:
        return Applied(None)
    return Applied(_dump(merged, offset), changed_mutations(current, merged))


def changed_mutations(before: MergedRun | None, after: MergedRun) -> Mutations:
    """What ``after`` maps to that ``before`` did not (``graph_mapping.run_mutations``)."""
    return run_mutations(after, before)


def stored_run(stored: StoredRun) -> MergedRun:
    """The merged run inside a stored state."""
    run, _ = _load(stored)
    assert run is not None
    return run


class _Stored(BaseModel):
    model_config = ConfigDict(frozen=True)

    run: MergedRun
    offset: int | None = None


_STORED = TypeAdapter(_Stored)


def _load(stored: StoredRun | None) -> tuple[MergedRun | None, int | None]:
    if stored is None:
        return None, None
    try:
        state = _STORED.validate_json(stored)
    except ValidationError:
        data = json.loads(stored)
        if isinstance(data, dict) and "run" not in data:  # stored before offsets were kept: a bare run
            return MergedRun.model_validate(data), None
        raise
    return state.run, state.offset


def _dump(run: MergedRun, offset: int | None) -> StoredRun:
    return _STORED.dump_json(_Stored(run=run, offset=offset))
