"""The Kafka message key of an OpenLineage event, as the OpenLineage clients choose it.

Runs are keyed by the root job (else the parent job, else the job) so that every event of one
job tree lands on one partition, in order: ``run:{namespace}/{name}``. Job and dataset events
are keyed ``job:{namespace}/{name}`` and ``dataset:{namespace}/{name}``. The processor does not
rely on this: integrations we do not control pick their own keys.
"""

from __future__ import annotations

from typing import Any


def message_key(event: Any) -> str | None:
    """The key for a decoded event, or None when it names no job or dataset.

    Any JSON value is accepted: a malformed event gets no key and is dead-lettered downstream.
    """
    if not isinstance(event, dict):
        return None
    if "run" in event:  # a job with an eventType and no run is a JobEvent (lineage.events)
        parent = _get(_get(_get(event, "run"), "facets"), "parent")
        for job in (_get(_get(parent, "root"), "job"), _get(parent, "job"), _get(event, "job")):
            name = _name(job)
            if name:
                return f"run:{name}"
        return None
    for kind in ("job", "dataset"):
        name = _name(_get(event, kind))
        if name:
            return f"{kind}:{name}"
    return None


def _get(value: Any, field: str) -> Any:
    return value.get(field) if isinstance(value, dict) else None


def _name(entity: Any) -> str | None:
    namespace, name = _get(entity, "namespace"), _get(entity, "name")
    if isinstance(namespace, str) and isinstance(name, str) and namespace and name:
        return f"{namespace}/{name}"
    return None
