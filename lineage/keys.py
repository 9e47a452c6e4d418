"""Identities of the things in the lineage graph.

A job and a dataset are identified by ``(namespace, name)`` as OpenLineage defines them (a run
by a UUID: ``lineage.naming.run_key``). These value types are hashable and ordered so that batches can be sorted by key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True, slots=True)
class JobKey:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, order=True, slots=True)
class DatasetKey:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"
