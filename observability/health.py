"""Liveness and readiness of a component, as an orchestrator probes them (``observability.server``).

Pure: the component says when it is ready (connected, its partitions assigned) and when not
(Neo4j gone, say), and beats while its main loop turns; ``healthy`` is false once the loop has not
turned for ``stuck_after`` seconds or the component declared itself stuck. A component that is
alive but not ready is left running (it is waiting for something); one that is not healthy is
restarted. Until it has been ready once, a component is starting, not stuck: a processor reading a
large run state back, say, beats only once that is done (an orchestrator's start-up allowance,
such as a Kubernetes startupProbe on /readyz, bounds the start).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from threading import Lock


@dataclass(frozen=True)
class Verdict:
    ok: bool
    status: str  # "ok", or what is wrong in a word or two
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status} | ({"detail": self.detail} if self.detail else {})


class Health:
    def __init__(self, stuck_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._stuck_after = stuck_after
        self._clock = clock
        self._lock = Lock()
        self._beat = clock()
        self._ready = Verdict(False, "starting")
        self._started = False
        self._stuck: str | None = None

    def beat(self) -> None:
        """The component's main loop turned."""
        self._beat = self._clock()

    def ready(self) -> None:
        self._set(Verdict(True, "ok"))

    def not_ready(self, status: str, detail: str = "") -> None:
        self._set(Verdict(False, status, detail))

    def stuck(self, detail: str) -> None:
        """The component found itself stuck (a partition that stopped moving, say)."""
        self._stuck = detail

    def _set(self, verdict: Verdict) -> None:
        with self._lock:
            if verdict.ok and not self._started:
                self._started = True
                self._beat = self._clock()
            self._ready = verdict

    def readiness(self) -> Verdict:
        live = self.liveness()
        return live if not live.ok else self._ready

    def liveness(self) -> Verdict:
        if self._stuck is not None:
            return Verdict(False, "stuck", self._stuck)
        quiet = self._clock() - self._beat
        if self._started and quiet > self._stuck_after:
            return Verdict(False, "stuck", f"the main loop has not turned for {quiet:.0f} s")
        return Verdict(True, "ok")
