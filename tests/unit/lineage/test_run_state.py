"""RunState is a join semilattice: the merged state cannot depend on arrival order."""

from __future__ import annotations

import itertools

import pytest

from lineage.run_state import RunState

STATES = list(RunState)
TERMINAL = [RunState.COMPLETED, RunState.ABORTED, RunState.FAILED]


@pytest.mark.parametrize(("a", "b"), list(itertools.product(STATES, repeat=2)))
def test_join_is_commutative(a: RunState, b: RunState) -> None:
    assert a.join(b) is b.join(a)


@pytest.mark.parametrize(("a", "b", "c"), list(itertools.product(STATES, repeat=3)))
def test_join_is_associative(a: RunState, b: RunState, c: RunState) -> None:
    assert a.join(b).join(c) is a.join(b.join(c))


@pytest.mark.parametrize("a", STATES)
def test_join_is_idempotent_and_new_is_bottom(a: RunState) -> None:
    assert a.join(a) is a
    assert a.join(RunState.NEW) is a
    assert RunState.NEW.join(a) is a


@pytest.mark.parametrize(("a", "b"), list(itertools.product(STATES, repeat=2)))
def test_join_is_the_least_upper_bound(a: RunState, b: RunState) -> None:
    joined = a.join(b)
    assert joined in (a, b)
    assert joined.rank >= a.rank
    assert joined.rank >= b.rank


def test_order_is_new_running_then_terminal() -> None:
    assert RunState.NEW.rank < RunState.RUNNING.rank
    assert all(RunState.RUNNING.rank < t.rank for t in TERMINAL)


@pytest.mark.parametrize("terminal", TERMINAL)
@pytest.mark.parametrize("late", [RunState.NEW, RunState.RUNNING])
def test_terminal_is_sticky(terminal: RunState, late: RunState) -> None:
    # A late START/RUNNING/OTHER (RUNNING or NEW) after a terminal event never reopens the run.
    assert terminal.join(late) is terminal
    assert late.join(terminal) is terminal


def test_late_start_after_complete_stays_completed() -> None:
    state = RunState.from_event_type("COMPLETE").join(RunState.from_event_type("START"))
    assert state is RunState.COMPLETED


def test_fail_beats_complete_whichever_order() -> None:
    assert RunState.COMPLETED.join(RunState.FAILED) is RunState.FAILED
    assert RunState.FAILED.join(RunState.COMPLETED) is RunState.FAILED


def test_conflicting_terminals_take_the_pessimistic_one() -> None:
    assert RunState.COMPLETED.join(RunState.ABORTED) is RunState.ABORTED
    assert RunState.ABORTED.join(RunState.FAILED) is RunState.FAILED


@pytest.mark.parametrize(
    ("event_type", "state"),
    [
        ("START", RunState.RUNNING),
        ("RUNNING", RunState.RUNNING),
        ("COMPLETE", RunState.COMPLETED),
        ("ABORT", RunState.ABORTED),
        ("FAIL", RunState.FAILED),
        ("OTHER", RunState.NEW),
        (None, RunState.NEW),
    ],
)
def test_from_event_type(event_type: str | None, state: RunState) -> None:
    assert RunState.from_event_type(event_type) is state


@pytest.mark.parametrize(
    ("state", "done"),
    [
        (RunState.NEW, False),
        (RunState.RUNNING, False),
        (RunState.COMPLETED, True),
        (RunState.ABORTED, True),
        (RunState.FAILED, True),
    ],
)
def test_is_done(state: RunState, done: bool) -> None:
    assert state.is_done() is done
