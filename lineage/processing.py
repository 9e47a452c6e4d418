"""What the processor does with one event, as pure functions the Faust agents call.

``route``: decode and validate raw bytes; say where they go (the runs topic, keyed by runId,
or the dead-letter topic with a reason). ``apply``: fold an event into the stored state of its
run and return the new state with the run's graph mutations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineage.events import InvalidEvent, decode_run_event
from lineage.graph_mapping import run_mutations
from lineage.merge import MergedRun, merge_event
from lineage.mutations import EdgeUpsert, NodeUpsert

StoredRun = dict[str, Any]


@dataclass(frozen=True)
class Routed:
    run_key: bytes


@dataclass(frozen=True)
class Rejected:
    reason: str
    message: str


def route(raw: bytes) -> Routed | Rejected:
    try:
        event = decode_run_event(raw)
    except InvalidEvent as exc:
        return Rejected(exc.reason, exc.message)
    return Routed(str(event.run.runId).encode())


def apply(stored: StoredRun | None, raw: bytes) -> tuple[StoredRun, list[NodeUpsert | EdgeUpsert]]:
    """The run's new stored state and its full graph, after folding in one event.

    Raises InvalidEvent if ``raw`` is not a valid event (``route`` lets only valid ones through).
    """
    event = decode_run_event(raw)
    current = MergedRun.model_validate(stored) if stored is not None else None
    merged = merge_event(current, event)
    return merged.model_dump(mode="json"), run_mutations(merged)
