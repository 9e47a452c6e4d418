"""Merging a run's events: order-, duplicate- and replay-insensitive (DESIGN.md section 3)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.events import RunEvent
from lineage.keys import DatasetKey, JobKey
from lineage.merge import MergedRun, dataset_id, live_facets, merge_event, merge_runs
from lineage.run_state import RunState
from tests.unit.factories import dataset, run_event
from tests.unit.lineage.strategies import arrivals, at, fold, run_events


def both_orders(a: RunEvent, b: RunEvent) -> tuple[MergedRun, MergedRun]:
    return fold([a, b]), fold([b, a])


# --- property: any permutation, any duplicates -------------------------------------------------

events = run_events()


@settings(deadline=None, database=None, max_examples=300)
@given(data=st.data())
def test_any_permutation_with_duplicates_gives_the_same_run(data: st.DataObject) -> None:
    originals, arrival = arrivals(data, events)

    expected = fold(originals)
    got = fold(arrival)

    assert got == expected
    assert live_facets(got.run_facets) == live_facets(expected.run_facets)
    assert live_facets(got.job_facets) == live_facets(expected.job_facets)
    assert {k: live_facets(d.facets) for k, d in got.inputs.items()} == {
        k: live_facets(d.facets) for k, d in expected.inputs.items()
    }


@settings(deadline=None, database=None, max_examples=200)
@given(originals=st.lists(events, min_size=1, max_size=6))
def test_merged_run_matches_the_rules_computed_independently(originals: list[RunEvent]) -> None:
    merged = fold(originals)

    state = RunState.NEW
    for e in originals:
        state = state.join(RunState.from_event_type(e.eventType))
    assert merged.state is state

    starts = [e.eventTime for e in originals if e.eventType in ("START", "RUNNING")]
    assert merged.started_at == (min(starts) if starts else None)

    winning_type = {RunState.COMPLETED: "COMPLETE", RunState.FAILED: "FAIL"}.get(state)
    if winning_type is None:
        assert merged.ended_at is None
    else:
        assert merged.ended_at == min(e.eventTime for e in originals if e.eventType == winning_type)

    assert set(merged.inputs) == {dataset_id(d.key) for e in originals for d in e.inputs}
    assert set(merged.outputs) == {dataset_id(d.key) for e in originals for d in e.outputs}

    # Every live run facet comes from an event with the latest eventTime among those carrying it.
    for name, value in live_facets(merged.run_facets).items():
        carriers = [e for e in originals if name in e.run.facets]
        latest = max(e.eventTime for e in carriers)
        assert any(e.eventTime == latest and e.run.facets[name] == value for e in carriers)


# --- lifecycle ----------------------------------------------------------------------------------


def test_complete_before_start_gives_completed_with_both_times() -> None:
    start = run_event("START", at(0))
    complete = run_event("COMPLETE", at(60))

    merged = fold([complete, start])

    assert merged.state is RunState.COMPLETED
    assert merged.started_at == at(0)
    assert merged.ended_at == at(60)


def test_complete_alone_has_an_end_but_no_start() -> None:
    merged = fold([run_event("COMPLETE", at(60))])
    assert merged.state is RunState.COMPLETED
    assert merged.started_at is None
    assert merged.ended_at == at(60)


def test_late_start_after_complete_does_not_reopen() -> None:
    merged = fold([run_event("COMPLETE", at(60)), run_event("START", at(90)), run_event("RUNNING", at(95))])
    assert merged.state is RunState.COMPLETED
    assert merged.ended_at == at(60)


@pytest.mark.parametrize("fail_first", [True, False])
def test_fail_beats_complete_and_ends_the_run_at_the_fail(fail_first: bool) -> None:
    complete, fail = run_event("COMPLETE", at(60)), run_event("FAIL", at(70))
    merged = fold([fail, complete] if fail_first else [complete, fail])
    assert merged.state is RunState.FAILED
    assert merged.ended_at == at(70)


def test_running_run_has_no_end() -> None:
    merged = fold([run_event("START", at(0)), run_event("RUNNING", at(10))])
    assert merged.state is RunState.RUNNING
    assert merged.ended_at is None


def test_started_at_is_the_earliest_start_or_running() -> None:
    merged = fold([run_event("START", at(20)), run_event("RUNNING", at(5)), run_event("OTHER", at(1))])
    assert merged.started_at == at(5)


def test_other_changes_neither_state_nor_start() -> None:
    merged = fold([run_event("OTHER", at(0))])
    assert merged.state is RunState.NEW
    assert merged.started_at is None
    assert merged.ended_at is None


def test_event_type_is_case_insensitive() -> None:
    merged = fold([run_event("complete", at(3))])
    assert merged.state is RunState.COMPLETED
    assert merged.ended_at == at(3)


def test_a_job_disagreement_resolves_to_the_smaller_key_in_any_order() -> None:
    a = run_event("START", at(0), job=("ns", "b"))
    b = run_event("COMPLETE", at(1), job=("ns", "a"))
    first, second = both_orders(a, b)
    assert first.job == second.job == JobKey("ns", "a")


# --- inputs and outputs accumulate -------------------------------------------------------------


def test_inputs_and_outputs_accumulate() -> None:
    start = run_event(
        "START",
        at(0),
        inputs=[dataset("db", "a"), dataset("db", "b")],
        outputs=[dataset("db", "out1")],
    )
    complete = run_event("COMPLETE", at(60), inputs=[dataset("db", "a")], outputs=[dataset("db", "out2")])

    for merged in both_orders(start, complete):
        assert {d.key for d in merged.inputs.values()} == {DatasetKey("db", "a"), DatasetKey("db", "b")}
        assert {d.key for d in merged.outputs.values()} == {
            DatasetKey("db", "out1"),
            DatasetKey("db", "out2"),
        }


def test_a_dataset_listed_twice_in_one_event_is_one_input() -> None:
    merged = fold([run_event("START", at(0), inputs=[dataset("db", "a"), dataset("db", "a")])])
    assert list(merged.inputs) == [dataset_id(DatasetKey("db", "a"))]


def test_dataset_ids_do_not_collide_on_slashes() -> None:
    assert dataset_id(DatasetKey("a/b", "c")) != dataset_id(DatasetKey("a", "b/c"))
    merged = fold([run_event("START", at(0), inputs=[dataset("a/b", "c"), dataset("a", "b/c")])])
    assert len(merged.inputs) == 2


# --- facets -------------------------------------------------------------------------------------


def _job_facet(merged: MergedRun, name: str) -> Any:
    return live_facets(merged.job_facets).get(name)


def test_latest_event_time_wins_a_facet_whatever_the_arrival() -> None:
    old = run_event("COMPLETE", at(0), job_facets={"owner": {"v": "old"}})
    new = run_event("START", at(10), job_facets={"owner": {"v": "new"}})
    for merged in both_orders(old, new):
        assert _job_facet(merged, "owner") == {"v": "new"}


def test_facet_is_replaced_whole_not_merged_key_by_key() -> None:
    old = run_event("START", at(0), run_facets={"custom": {"a": 1, "b": 2}})
    new = run_event("RUNNING", at(10), run_facets={"custom": {"a": 3}})
    for merged in both_orders(old, new):
        assert live_facets(merged.run_facets)["custom"] == {"a": 3}


def test_facets_with_different_names_are_all_kept() -> None:
    a = run_event("START", at(0), run_facets={"x": {"v": 1}})
    b = run_event("COMPLETE", at(1), run_facets={"y": {"v": 2}})
    for merged in both_orders(a, b):
        assert live_facets(merged.run_facets) == {"x": {"v": 1}, "y": {"v": 2}}


def test_tie_on_event_time_goes_to_the_higher_event_type_rank() -> None:
    start = run_event("START", at(5), job_facets={"owner": {"v": "from-start"}})
    complete = run_event("COMPLETE", at(5), job_facets={"owner": {"v": "from-complete"}})
    for merged in both_orders(start, complete):
        assert _job_facet(merged, "owner") == {"v": "from-complete"}


def test_full_tie_is_broken_by_content_not_by_arrival() -> None:
    a = run_event("RUNNING", at(5), job_facets={"owner": {"v": "alice"}})
    b = run_event("RUNNING", at(5), job_facets={"owner": {"v": "bob"}})
    first, second = both_orders(a, b)
    assert first == second
    assert _job_facet(first, "owner") == _job_facet(second, "owner")
    assert _job_facet(first, "owner") in ({"v": "alice"}, {"v": "bob"})


def test_deleted_removes_a_job_facet_in_any_order() -> None:
    add = run_event("START", at(0), job_facets={"owner": {"v": 1}, "doc": {"d": "x"}})
    delete = run_event("COMPLETE", at(10), job_facets={"owner": {"_deleted": True}})
    for merged in both_orders(add, delete):
        assert live_facets(merged.job_facets) == {"doc": {"d": "x"}}


def test_deleted_removes_a_dataset_facet() -> None:
    add = run_event("START", at(0), inputs=[dataset("db", "a", {"schema": {"fields": []}, "tags": {"t": 1}})])
    delete = run_event("COMPLETE", at(10), inputs=[dataset("db", "a", {"schema": {"_deleted": True}})])
    for merged in both_orders(add, delete):
        (ds,) = merged.inputs.values()
        assert live_facets(ds.facets) == {"tags": {"t": 1}}


def test_a_later_write_re_adds_a_deleted_facet() -> None:
    events = [
        run_event("START", at(0), job_facets={"owner": {"v": 1}}),
        run_event("RUNNING", at(10), job_facets={"owner": {"_deleted": True}}),
        run_event("COMPLETE", at(20), job_facets={"owner": {"v": 2}}),
    ]
    assert _job_facet(fold(events), "owner") == {"v": 2}
    assert _job_facet(fold(events[::-1]), "owner") == {"v": 2}


def test_an_older_write_arriving_late_does_not_resurrect_a_deleted_facet() -> None:
    delete = run_event("COMPLETE", at(10), job_facets={"owner": {"_deleted": True}})
    older = run_event("START", at(0), job_facets={"owner": {"v": 1}})
    assert "owner" not in live_facets(fold([delete, older]).job_facets)


def test_live_facets_is_sorted_and_drops_tombstones() -> None:
    merged = fold([run_event("START", at(0), run_facets={"b": {"v": 1}, "a": {"v": 2}, "c": {"_deleted": True}})])
    facets = live_facets(merged.run_facets)
    assert list(facets) == ["a", "b"]
    assert "c" in merged.run_facets  # the tombstone itself is kept, stamped, for later merges


def test_unknown_facets_are_kept_whole() -> None:
    odd = {"_producer": "p", "nested": {"deep": [1, {"x": None}]}, "n": 1.5}
    merged = fold([run_event("START", at(0), run_facets={"vendor_thing": odd})])
    assert json.dumps(live_facets(merged.run_facets)["vendor_thing"], sort_keys=True) == json.dumps(odd, sort_keys=True)


# --- identity -----------------------------------------------------------------------------------


def test_merging_two_different_runs_raises() -> None:
    a = fold([run_event("START", at(0), run_id="11111111-1111-1111-1111-111111111111")])
    other = run_event("START", at(0), run_id="22222222-2222-2222-2222-222222222222")
    with pytest.raises(ValueError, match="cannot merge run"):
        merge_runs(a, fold([other]))
    with pytest.raises(ValueError, match="cannot merge run"):
        merge_event(a, other)


def test_merge_runs_is_commutative_on_partial_states() -> None:
    a = fold([run_event("START", at(0), inputs=[dataset("db", "a")], run_facets={"x": {"v": 1}})])
    b = fold([run_event("FAIL", at(9), outputs=[dataset("db", "b")], run_facets={"x": {"v": 2}})])
    assert merge_runs(a, b) == merge_runs(b, a)
    assert merge_runs(a, a) == a
