"""The Kafka message key of an OpenLineage event, as the OpenLineage clients choose it.

Runs are keyed by the root job (else the parent job, else the job) so that every event of one
job tree lands on one partition, in order: ``run:{namespace}/{name}``. Job and dataset events
are keyed ``job:{namespace}/{name}`` and ``dataset:{namespace}/{name}``. The processor does not
rely on this: integrations we do not control pick their own keys.
"""

from __future__ import annotations

from typing import Any


def message_key(event: dict[str, Any]) -> str | None:
    """The key for a decoded event, or None when it names no job or dataset."""
    if "run" in event or "eventType" in event:
        facets = (event.get("run") or {}).get("facets") or {}
        parent = facets.get("parent") or {}
        for job in ((parent.get("root") or {}).get("job"), parent.get("job"), event.get("job")):
            if isinstance(job, dict) and job.get("namespace") and job.get("name"):
                return f"run:{job['namespace']}/{job['name']}"
        return None
    for kind in ("job", "dataset"):
        entity = event.get(kind)
        if isinstance(entity, dict) and entity.get("namespace") and entity.get("name"):
            return f"{kind}:{entity['namespace']}/{entity['name']}"
    return None
