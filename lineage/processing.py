"""What the processor does with one event, as pure functions the Faust agents call.

``route``: decode and validate raw bytes; say where they go (the runs topic, keyed by the entity
the event is about, or the dead-letter topic with a reason). ``apply``: fold a run event into
the stored state of its run, or map a static DatasetEvent/JobEvent, and return the graph
mutations to emit.

Change-only output: a run event emits only the mutations that differ from what the run's
previous state already emitted, so a duplicate or a replayed event emits nothing. The stored
state remembers the highest position (on the runs topic: the offset, or for an event in a routed
batch the offset scaled plus its index in the message, ``stream_processor.app``) of an event that
changed it. An event at or below that position is a redelivery after a crash or a rebalance: its
state may have been saved while its mutations never reached Kafka, so it emits the run's full
state again (mutations are idempotent upserts, so emitting twice is harmless; emitting nothing
could lose them), and it stores the state again even if unchanged: the worker's local store may hold a state the
changelog never received (see ``apply``). A redelivered event can also be one that was skipped
the first time (Faust may drop fetched messages at a rebalance and deliver them again from the
committed offset), so it is merged like any other.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from lineage.events import AnyEvent, DatasetEvent, InvalidEvent, JobEvent, RunEvent, decode, decode_event
from lineage.graph_mapping import (
    encoded_dataset_event_mutations,
    encoded_job_event_mutations,
    encoded_run_mutations,
    typed,
)
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
    run_state: str | None = None  # a run event's eventType (OTHER when it has none); None for others


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
    changes: list[bytes] = field(default_factory=list)  # the mutations, encoded for the graph topic
    redelivered: bool = False

    @property
    def mutations(self) -> Mutations:
        return typed(self.changes)


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
    event = decoded.event
    state = (event.eventType or "OTHER") if isinstance(event, RunEvent) else None
    return Routed(entity_key(event), decoded.leniencies, state)


def apply(stored: StoredRun | None, raw: bytes, offset: int | None = None) -> Applied:
    """Fold one event (read at ``offset`` of the runs topic, if known) into its run's state.

    Raises InvalidEvent if ``raw`` is not a valid event (``route`` lets only valid ones through).
    """
    folded = apply_all(load(stored), [(raw, offset)])
    if folded.invalid:
        raise folded.invalid[0][1]
    return Applied(folded.stored, folded.changes, folded.redelivered)


@dataclass(frozen=True)
class Loaded:
    """A run's stored state, decoded: the merged run (None: no state yet) and the highest offset
    of an event that changed it."""

    run: MergedRun | None = None
    offset: int | None = None


@dataclass(frozen=True)
class Folded:
    """What the events of one key in one batch did, taken together (``apply_all``).

    ``stored``: the state to store, None to leave it as it is; ``state``: the state after the
    batch, decoded; ``changes``: one change set for the whole batch, its mutations encoded;
    ``invalid``: the position of each event that is not a valid event, with why (the others were
    applied).
    """

    stored: StoredRun | None
    state: Loaded
    changes: list[bytes] = field(default_factory=list)
    redelivered: bool = False
    invalid: list[tuple[int, InvalidEvent]] = field(default_factory=list)

    @property
    def mutations(self) -> Mutations:
        return typed(self.changes)


def apply_all(loaded: Loaded, raws: Sequence[tuple[bytes, int | None]]) -> Folded:
    """Fold events of one key (each with its position on the runs topic, if known: distinct for
    distinct events, greater for later ones) into the state.

    The result is what applying them one by one would leave (``apply``): the same state, stored
    once, and one change set for them all: what the state after the batch maps to that the
    state before it did not (everything, if one of them was a redelivery). Folding a batch per
    run is what keeps a run's START, RUNNING and COMPLETE from being stored, mapped and sent
    three times when they arrive together.
    """
    base, current, last_offset = loaded.run, loaded.run, loaded.offset
    static: list[bytes] = []
    invalid: list[tuple[int, InvalidEvent]] = []
    changed = redelivered = False
    for index, (raw, offset) in enumerate(raws):
        try:
            event = decode_event(raw)
        except InvalidEvent as exc:
            invalid.append((index, exc))
            continue
        if isinstance(event, DatasetEvent):
            static.extend(encoded_dataset_event_mutations(event))
            continue
        if isinstance(event, JobEvent):
            static.extend(encoded_job_event_mutations(event))
            continue
        merged = merge_event(current, event)
        if current is not None and offset is not None and last_offset is not None and offset <= last_offset:
            # A redelivery. Stored again even when unchanged: a killed worker's RocksDB store keeps
            # states whose changelog records were lost with it, and only a write puts such a state
            # in the changelog before the event's offset is committed (a worker taking the
            # partition later recovers from the changelog alone).
            redelivered = True
            current = merged
        elif merged != current:
            changed = True
            current, last_offset = merged, offset
    state = Loaded(current, last_offset)
    if current is None or not (changed or redelivered):
        return Folded(None, state, static, invalid=invalid)
    changes = encoded_run_mutations(current, None if redelivered else base)
    return Folded(_dump(current, last_offset), state, static + changes, redelivered, invalid)


class StateCache:
    """Recently used run states, decoded, so that a run's next event does not parse its state again.

    An entry is used only while the store still holds the very bytes it was decoded from, so the
    cache can never answer with a state the store no longer has (another worker's write, a
    recovery from the changelog): it saves work, it decides nothing. Bounded: the least recently
    used entries go first.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[bytes, tuple[StoredRun, Loaded]] = OrderedDict()
        self.hits = self.misses = 0

    def load(self, key: bytes, stored: StoredRun | None) -> Loaded:
        """The decoded form of ``stored``, the state the store holds for ``key``."""
        if stored is None:
            return Loaded()
        entry = self._entries.get(key)
        if entry is not None and entry[0] == stored:
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]
        self.misses += 1
        return load(stored)

    def keep(self, key: bytes, stored: StoredRun, state: Loaded) -> None:
        """Remember that ``stored`` decodes to ``state``."""
        if self._capacity <= 0:
            return
        self._entries[key] = (stored, state)
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def stored_run(stored: StoredRun) -> MergedRun:
    """The merged run inside a stored state."""
    run = load(stored).run
    assert run is not None
    return run


class _Stored(BaseModel):
    model_config = ConfigDict(frozen=True)

    run: MergedRun
    offset: int | None = None


_STORED = TypeAdapter(_Stored)


def load(stored: StoredRun | None) -> Loaded:
    """A stored state, decoded (``Loaded()`` for none)."""
    if stored is None:
        return Loaded()
    try:
        state = _STORED.validate_json(stored)
    except ValidationError:
        data = json.loads(stored)
        if isinstance(data, dict) and "run" not in data:  # stored before offsets were kept: a bare run
            return Loaded(MergedRun.model_validate(data))
        raise
    return Loaded(state.run, state.offset)


def _dump(run: MergedRun, offset: int | None) -> StoredRun:
    return _STORED.dump_json(_Stored(run=run, offset=offset))
