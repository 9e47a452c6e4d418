"""Change-only output (lineage.processing.apply): what is emitted, event by event."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from lineage.events import RunEvent
from lineage.graph_mapping import run_mutations
from lineage.processing import Loaded, StateCache, StoredRun, apply, apply_all, load, stored_run
from tests.unit.factories import dataset, run_event
from tests.unit.fake_graph import FakeGraph
from tests.unit.lineage.strategies import arrivals, at, fold, run_events


def raw(event: RunEvent) -> bytes:
    return event.model_dump_json(by_alias=True, exclude_none=True).encode()


def full_graph(events: list[RunEvent]) -> FakeGraph:
    graph = FakeGraph()
    graph.write(run_mutations(fold(events)))
    return graph


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_change_only_output_builds_the_graph_full_state_would(data: st.DataObject) -> None:
    originals, arrival = arrivals(data, run_events())
    graph, stored = FakeGraph(), None
    for offset, event in enumerate(arrival):
        applied = apply(stored, raw(event), offset)
        graph.write(applied.mutations)
        stored = applied.stored if applied.stored is not None else stored
    assert stored is not None
    assert stored_run(stored) == fold(originals)
    assert graph.snapshot() == full_graph(originals).snapshot()


def batches(data: st.DataObject, count: int, start: int = 0) -> list[range]:
    """Offsets ``start`` .. ``count`` - 1 cut into consecutive batches of random sizes."""
    cuts = sorted(
        data.draw(st.sets(st.integers(min_value=start + 1, max_value=max(count - 1, start + 1))), label="cuts")
    )
    bounds = [start, *[c for c in cuts if c < count], count]
    return [range(a, b) for a, b in itertools.pairwise(bounds) if a < b]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_batch_folds_to_what_its_events_one_by_one_would(data: st.DataObject) -> None:
    """Events taken in batches (``apply_all``, one change set per batch) leave the state and the
    graph that one event at a time leaves, whatever the cut; duplicates within a batch too."""
    originals, arrival = arrivals(data, run_events())
    graph, stored = FakeGraph(), None
    cache = StateCache(8)
    for batch in batches(data, len(arrival)):
        folded = apply_all(cache.load(b"run", stored), [(raw(arrival[o]), o) for o in batch])
        assert not folded.invalid
        graph.write(folded.mutations)
        if folded.stored is not None:
            stored = folded.stored
            assert load(stored) == folded.state
            cache.keep(b"run", stored, folded.state)
    assert stored is not None
    assert stored_run(stored) == fold(originals)
    assert graph.snapshot() == full_graph(originals).snapshot()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_crash_between_batches_loses_nothing(data: st.DataObject) -> None:
    """Batches whose state was stored but whose change sets never reached Kafka (after the last
    commit) are given again from the commit, cut into batches differently."""
    originals, arrival = arrivals(data, run_events())
    first = batches(data, len(arrival))
    crash_after = data.draw(st.integers(min_value=1, max_value=len(first)), label="batches before the kill")
    committed_batches = data.draw(st.integers(min_value=0, max_value=crash_after - 1), label="committed batches")
    graph, stored = FakeGraph(), None
    for number, batch in enumerate(first[:crash_after]):
        folded = apply_all(load(stored), [(raw(arrival[o]), o) for o in batch])
        if number < committed_batches:
            graph.write(folded.mutations)
        stored = folded.stored if folded.stored is not None else stored
    committed = first[committed_batches].start
    for batch in batches(data, len(arrival), committed):
        folded = apply_all(load(stored), [(raw(arrival[o]), o) for o in batch])
        graph.write(folded.mutations)
        stored = folded.stored if folded.stored is not None else stored
    assert graph.snapshot() == full_graph(originals).snapshot()


def test_the_state_cache_answers_only_for_the_bytes_it_decoded() -> None:
    start, complete = raw(run_event("START", at(0))), raw(run_event("COMPLETE", at(5)))
    first = apply_all(Loaded(), [(start, 0)])
    assert first.stored is not None
    cache = StateCache(1)
    cache.keep(b"r", first.stored, first.state)
    assert cache.load(b"r", first.stored) is first.state
    second = apply(first.stored, complete, 1).stored  # written elsewhere: the cache never saw it
    assert second is not None
    assert cache.load(b"r", second) == load(second) != first.state
    cache.keep(b"other", second, load(second))  # capacity 1: the oldest entry goes
    assert len(cache) == 1 and cache.load(b"r", first.stored) is not first.state
    assert (cache.hits, cache.misses) == (1, 2)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_crash_or_rebalance_mid_way_loses_nothing(data: st.DataObject) -> None:
    """Before the crash some events were skipped (Faust dropped them at a rebalance) and some had
    their state saved but their mutations never sent; from the committed offset on, all come again."""
    originals, arrival = arrivals(data, run_events())
    crash_at = data.draw(st.integers(min_value=1, max_value=len(arrival)), label="crash after")
    skipped = data.draw(st.sets(st.integers(min_value=0, max_value=crash_at - 1)), label="skipped")
    # Nothing at or after a skipped offset can have been committed.
    last_commit = min(skipped, default=crash_at - 1)
    committed = data.draw(st.integers(min_value=0, max_value=last_commit), label="committed")
    graph, stored = FakeGraph(), None
    for offset, event in enumerate(arrival[:crash_at]):
        if offset in skipped:
            continue
        applied = apply(stored, raw(event), offset)
        if offset < committed:  # the mutations of committed events reached Kafka
            graph.write(applied.mutations)
        stored = applied.stored if applied.stored is not None else stored
    # Restart: the state is recovered from the changelog, delivery resumes at the commit.
    for offset in range(committed, len(arrival)):
        applied = apply(stored, raw(arrival[offset]), offset)
        graph.write(applied.mutations)
        stored = applied.stored if applied.stored is not None else stored
    assert graph.snapshot() == full_graph(originals).snapshot()


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_kill_that_loses_changelog_writes_the_local_store_kept_loses_nothing(data: st.DataObject) -> None:
    """A worker is killed: its RocksDB store keeps every state it wrote, but the changelog lacks the
    writes after some point, and nothing after the commit reached the graph. It restarts on the same
    store and is given the events from the commit again; part-way through, the partition moves to
    another worker, which recovers the state from the changelog and takes the rest."""
    originals, arrival = arrivals(data, run_events())
    crash_at = data.draw(st.integers(min_value=1, max_value=len(arrival)), label="killed after")
    committed = data.draw(st.integers(min_value=0, max_value=crash_at - 1), label="committed")
    graph, local, changelog = FakeGraph(), None, []
    for offset, event in enumerate(arrival[:crash_at]):
        applied = apply(local, raw(event), offset)
        if offset < committed:  # the commit waited for these to be delivered
            graph.write(applied.mutations)
        if applied.stored is not None:
            local = applied.stored
            changelog.append((offset, applied.stored))
    delivered = data.draw(st.integers(min_value=committed, max_value=crash_at), label="changelog delivered up to")
    changelog = [(offset, state) for offset, state in changelog if offset < delivered]
    moved_at = data.draw(st.integers(min_value=committed, max_value=len(arrival)), label="partition moves at")
    for offset in range(committed, len(arrival)):
        if offset == moved_at:  # another worker: the state is what the changelog has
            local = changelog[-1][1] if changelog else None
        applied = apply(local, raw(arrival[offset]), offset)
        graph.write(applied.mutations)
        if applied.stored is not None:
            local = applied.stored
            changelog.append((offset, applied.stored))
    assert graph.snapshot() == full_graph(originals).snapshot()


def test_a_duplicate_changes_nothing_and_emits_nothing() -> None:
    start = raw(run_event("START", at(0), inputs=[dataset("db", "t")]))
    first = apply(None, start, 0)
    assert first.mutations and first.stored is not None
    again = apply(first.stored, start, 1)
    assert again.mutations == [] and again.stored is None and not again.redelivered


def test_a_redelivered_event_emits_the_full_state() -> None:
    start = raw(run_event("START", at(0), inputs=[dataset("db", "t")]))
    complete = raw(run_event("COMPLETE", at(5)))
    stored: StoredRun | None = apply(None, start, 0).stored
    after_complete = apply(stored, complete, 1)
    assert after_complete.stored is not None
    redelivered = apply(after_complete.stored, complete, 1)
    assert redelivered.redelivered
    assert redelivered.mutations == run_mutations(stored_run(after_complete.stored))


def test_state_stored_before_offsets_were_kept_still_loads() -> None:
    start = raw(run_event("START", at(0)))
    # What Faust's JSON codec stored then: the bare merged run.
    legacy = json.dumps(fold([run_event("START", at(0))]).model_dump(mode="json")).encode()
    applied = apply(legacy, raw(run_event("COMPLETE", at(5))), 7)
    assert applied.stored is not None and json.loads(applied.stored)["offset"] == 7
    assert stored_run(applied.stored).state.value == "COMPLETED"
    assert apply(legacy, start, 0).mutations == []


def test_state_faust_stored_as_a_dict_loads_as_the_bytes_stored_now() -> None:
    """Before the state was stored as bytes, Faust's JSON codec encoded the same document."""
    events = [run_event("START", at(0), inputs=[dataset("db", "t")]), run_event("COMPLETE", at(5))]
    stored = apply(apply(None, raw(events[0]), 0).stored, raw(events[1]), 1).stored
    assert stored is not None
    as_faust_stored_it = json.dumps(
        {"run": fold(events).model_dump(mode="json"), "offset": 1}, separators=(", ", ": ")
    ).encode()
    assert stored_run(as_faust_stored_it) == stored_run(stored) == fold(events)
    again = apply(as_faust_stored_it, raw(events[1]), 1)  # a redelivery: the offset was read back
    assert again.redelivered


def test_a_damaged_state_is_reported_as_it_is_not_as_a_legacy_one() -> None:
    stored = apply(None, raw(run_event("START", at(0))), 0).stored
    assert stored is not None
    damaged = json.loads(stored)
    damaged["run"]["state"] = "PAUSED"
    with pytest.raises(ValidationError) as err:
        stored_run(json.dumps(damaged).encode())
    assert "run.state" in str(err.value)
