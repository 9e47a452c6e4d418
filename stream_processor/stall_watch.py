"""Noticing a partition that stops moving: lag that stays while its committed offset does not.

A worker commits what it processed about once a second, so a partition it holds with records
waiting (the end offset above the committed one) whose committed offset has not moved for long
is stuck, whatever the reason: a fault of the consumer (stream_processor.faust_fixes), a record
that cannot be processed, a bug. ``StallWatch.observe`` is fed the partitions' committed and end
offsets now and then and says which have been stuck for how long; the worker logs a warning at
half the timeout and, at the timeout, exits for its supervisor to restart it (a restarted worker
reads from the committed offset, which is what unsticks a consumer).

Pure: the worker (stream_processor.app) reads the offsets, from the broker, and acts; a broker
that does not answer is no stall, so nothing is observed then.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Stuck:
    partition: Hashable
    committed: int | None
    end: int
    seconds: float  # since the committed offset last moved (or the lag appeared)


class StallWatch:
    def __init__(self) -> None:
        # partition -> (committed offset, when it was first seen there with lag)
        self._since: dict[Hashable, tuple[int | None, float]] = {}

    def observe(self, offsets: Mapping[Hashable, tuple[int | None, int]], now: float) -> list[Stuck]:
        """``offsets``: partition -> (committed offset or None, end offset). Returns the partitions
        with lag whose committed offset has not moved since an earlier observation, with how long."""
        stuck = []
        seen: dict[Hashable, tuple[int | None, float]] = {}
        for tp, (committed, end) in offsets.items():
            if end <= (committed or 0):
                continue  # nothing waiting
            before = self._since.get(tp)
            if before is None or before[0] != committed:
                seen[tp] = (committed, now)
                continue
            seen[tp] = before
            stuck.append(Stuck(tp, committed, end, now - before[1]))
        self._since = seen
        return stuck

    def forget(self) -> None:
        """Partitions were reassigned: start over."""
        self._since.clear()
