"""Counting the events taken leniently, per kind (``lineage.events.LENIENCIES``), and saying so.

An operator should learn that producers send events off the spec without reading every one: the
first event of each kind is logged at once with where it is (topic, partition, offset: enough to
read it back), then a summary of the counts at most once per ``every`` seconds while such events
keep arriving. ``totals`` holds the counts since the worker started.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable

logger = logging.getLogger(__name__)


class LeniencyLog:
    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.totals: Counter[str] = Counter()
        self._window: Counter[str] = Counter()
        self._every = every
        self._clock = clock
        self._since = clock()

    def record(self, kinds: Iterable[str], topic: str, partition: int, offset: int) -> None:
        """Count one event's leniencies (each kind once per event)."""
        for kind in kinds:
            if kind not in self.totals:
                logger.info(
                    "accepted leniently kind=%s topic=%s partition=%s offset=%s (the first of its kind; the "
                    "next are counted in a summary at most once a minute; docs/accepted-events.md "
                    "says what each kind means)",
                    kind,
                    topic,
                    partition,
                    offset,
                )
            self.totals[kind] += 1
            self._window[kind] += 1
        now = self._clock()
        if self._window and now - self._since >= self._every:
            logger.info(
                "accepted leniently in the last %.0f s: %s (since start: %s)",
                now - self._since,
                _counts(self._window),
                _counts(self.totals),
            )
            self._window.clear()
            self._since = now


def _counts(counts: Counter[str]) -> str:
    return " ".join(f"{kind}={n}" for kind, n in sorted(counts.items()))
