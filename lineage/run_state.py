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
