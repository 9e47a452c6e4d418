"""OpenLineage run events (spec 2-0-2) as pydantic models.

Only the fields the graph needs are typed; everything else, facets included, is kept as data
(``extra="allow"``) so that an event can be written back unchanged.

Timestamps: ``eventTime`` must carry an offset per the spec, but real clients (the Python
client's serde examples, for one) send naive ISO timestamps. A naive timestamp is read as UTC,
the only reading that does not depend on the machine that parses it. Every eventTime is then
converted to UTC, so one instant has one representation whatever offset the sender used.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lineage.keys import DatasetKey, JobKey

Facets = dict[str, Any]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Run(_Model):
    runId: UUID
    facets: Facets = Field(default_factory=dict)


class Job(_Model):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    facets: Facets = Field(default_factory=dict)

    @property
    def key(self) -> JobKey:
        return JobKey(self.namespace, self.name)


class Dataset(_Model):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    facets: Facets = Field(default_factory=dict)

    @property
    def key(self) -> DatasetKey:
        return DatasetKey(self.namespace, self.name)


class RunEvent(_Model):
    eventType: str | None = None
    eventTime: datetime
    run: Run
    job: Job
    inputs: list[Dataset] = Field(default_factory=list)
    outputs: list[Dataset] = Field(default_factory=list)
    producer: str
    schemaURL: str

    @field_validator("eventTime")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # One instant, one representation: the graph must not depend on the sender's offset.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class InvalidEvent(ValueError):
    """An event that cannot be processed; ``reason`` is a stable code for dead letters."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def decode_run_event(raw: bytes | str) -> RunEvent:
    """Parse one JSON-encoded RunEvent, or raise InvalidEvent naming what was wrong."""
    try:
        return RunEvent.model_validate_json(raw)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise InvalidEvent("not-json", str(exc.errors()[0]["msg"])) from exc
        raise InvalidEvent("schema-invalid", _summarise(exc)) from exc


def _summarise(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(event)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
