"""Builders for OpenLineage events and paths to the shared real-event fixtures."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from lineage.events import RunEvent, decode_run_event

REPO = Path(__file__).resolve().parents[2]
OPENLINEAGE = REPO.parent / "shared" / "openlineage"
REAL_EVENTS = OPENLINEAGE / "events" / "real"
FULL_EVENT = REAL_EVENTS / "other" / "client-python" / "example_full_event.json"

RUN_ID = "0d4b7a4e-7e3c-4b7a-9d7e-1f0a2b3c4d5e"
PRODUCER = "https://example.test/producer"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def real_event_files() -> list[Path]:
    return sorted(REAL_EVENTS.rglob("*.json"))


def load_json(path: Path) -> Any:
    return json.loads(path.read_bytes())


def run_event_dict(
    event_type: str | None = "START",
    time: str | datetime = "2024-01-01T10:00:00+00:00",
    *,
    run_id: str = RUN_ID,
    job: tuple[str, str] = ("jobs-ns", "job"),
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventTime": time.isoformat() if isinstance(time, datetime) else time,
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": job[0], "name": job[1], "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }
    if event_type is not None:
        event["eventType"] = event_type
    return event


def run_event(
    event_type: str | None = "START", time: str | datetime = "2024-01-01T10:00:00+00:00", **kwargs: Any
) -> RunEvent:
    """A decoded RunEvent, built through the same JSON path the processor uses."""
    return decode_run_event(json.dumps(run_event_dict(event_type, time, **kwargs)))


def dataset(namespace: str, name: str, facets: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, "facets": facets or {}}
