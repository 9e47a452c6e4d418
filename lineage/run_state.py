"""Run state as a lattice: NEW < RUNNING < terminal (COMPLETED | FAILED | ABORTED).

Merging two states takes the higher one, so the result does not depend on the order in which
events arrive. Terminal states are sticky: a late START or RUNNING never reopens a run. Two
different terminal states for one run (a producer bug) are resolved by a fixed rank so that
the outcome is still order-independent: FAILED over ABORTED over COMPLETED, the pessimistic
reading, because a lineage user would rather see a failure that did not happen than miss one.
"""

from __future__ import annotations

from enum import Enum


class RunState(Enum):
    NEW = "NEW"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    ABORTED = "ABORTED"
    FAILED = "FAILED"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def is_done(self) -> bool:
        return self.rank >= _RANK[RunState.COMPLETED]

    def join(self, other: RunState) -> RunState:
        """The least upper bound of two states (commutative, associative, idempotent)."""
        return self if self.rank >= other.rank else other

    @classmethod
    def from_event_type(cls, event_type: str | None) -> RunState:
        """The state an OpenLineage eventType moves a run to (OTHER and None change nothing)."""
        return _FROM_EVENT_TYPE.get(event_type or "OTHER", RunState.NEW)


_RANK = {
    RunState.NEW: 0,
    RunState.RUNNING: 1,
    RunState.COMPLETED: 2,
    RunState.ABORTED: 3,
    RunState.FAILED: 4,
}

_FROM_EVENT_TYPE = {
    "START": RunState.RUNNING,
    "RUNNING": RunState.RUNNING,
    "COMPLETE": RunState.COMPLETED,
    "ABORT": RunState.ABORTED,
    "FAIL": RunState.FAILED,
    "OTHER": RunState.NEW,
}


def state_rank(value: object) -> int:
    """The rank of a state given by its name (a Run node's ``state``); -1 for anything else.

    A run's properties in the graph never go back down the lattice: an upsert whose state ranks
    below the one the graph holds comes from an older view of the run and is ignored (the sink
    applies this within a batch and in Cypher, ``STATE_RANKS``)."""
    return STATE_RANKS.get(value, -1) if isinstance(value, str) else -1


STATE_RANKS = {state.value: rank for state, rank in _RANK.items()}
# States from this rank on have ended (``RunState.is_done``).
DONE_RANK = _RANK[RunState.COMPLETED]
