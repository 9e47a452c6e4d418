"""What the processor does with one event, as pure functions the Faust agents call.

``route``: decode and validate raw bytes; say where they go (the runs topic, keyed by the entity
the event is about, or the dead-letter topic with a reason). ``apply``: fold a run event into
the stored state of its run, or map a static DatasetEvent/JobEvent, and return the graph
mutations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineage.events import AnyEvent, DatasetEvent, InvalidEvent, JobEvent, RunEvent, decode_event
from lineage.graph_mapping import dataset_event_mutations, job_event_mutations, run_mutations
from lineage.merge import MergedRun, merge_event
from lineage.mutations import EdgeUpsert, NodeUpsert

StoredRun = dict[str, Any]


@dataclass(frozen=True)
class Routed:
    key: bytes


@dataclass(frozen=True)
class Rejected:
    reason: str
    message: str


def entity_key(event: AnyEvent) -> bytes:
    """The key every event about one thing shares: a run's id, or the dataset's or job's name."""
    if isinstance(event, RunEvent):
        return str(event.run.runId).encode()
    if isinstance(event, DatasetEvent):
        return f"dataset:{event.dataset.namespace}/{event.dataset.name}".encode()
    return f"job:{event.job.namespace}/{event.job.name}".encode()


def route(raw: bytes, max_bytes: int | None = None) -> Routed | Rejected:
    try:
        event = decode_event(raw, max_bytes)
    except InvalidEvent as exc:
        return Rejected(exc.reason, exc.message)
    return Routed(entity_key(event))


def apply(stored: StoredRun | None, raw: bytes) -> tuple[StoredRun | None, list[NodeUpsert | EdgeUpsert]]:
    """New stored state (None: nothing to store) and the graph mutations, after one event.

    Raises InvalidEvent if ``raw`` is not a valid event (``route`` lets only valid ones through).
    """
    event = decode_event(raw)
    if isinstance(event, DatasetEvent):
        return None, dataset_event_mutations(event)
    if isinstance(event, JobEvent):
        return None, job_event_mutations(event)
    current = MergedRun.model_validate(stored) if stored is not None else None
    merged = merge_event(current, event)
    return merged.model_dump(mode="json"), run_mutations(merged)
