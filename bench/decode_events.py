"""How fast the core decodes and processes events, on one core, with no Kafka or Neo4j.

Prints events/s for decode_event (bytes -> validated model) and for the processor's per-event
work (route + apply: decode, merge into the run's state, map to graph mutations, encode them),
for a typical event and a large one. Run: .venv/bin/python bench/decode_events.py
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from lineage.events import decode_event
from lineage.mutations import encode_mutation
from lineage.processing import apply, route

SHARED = Path(__file__).resolve().parents[2] / "shared" / "openlineage"
TYPICAL = SHARED / "events" / "real" / "other" / "client-python" / "example_full_event.json"


def large_event(fields: int = 400) -> dict[str, Any]:
    """A Spark-like COMPLETE with a wide schema, column lineage for every column and big SQL."""
    producer = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/spark"
    schema = {
        "_producer": producer,
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
        "fields": [{"name": f"col_{i}", "type": "DECIMAL(38,9)", "description": f"column {i}"} for i in range(fields)],
    }
    lineage = {
        "_producer": producer,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": {
            f"col_{i}": {
                "inputFields": [
                    {
                        "namespace": "s3://lake",
                        "name": f"raw/t{j}",
                        "field": f"col_{i}",
                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}],
                    }
                    for j in range(3)
                ]
            }
            for i in range(fields)
        },
    }
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-20T10:04:30.500Z",
        "run": {"runId": str(uuid.uuid4()), "facets": {"spark_properties": {"properties": {"k": "v" * 2000}}}},
        "job": {
            "namespace": "spark",
            "name": "nightly.etl",
            "facets": {
                "sql": {
                    "_producer": producer,
                    "_schemaURL": "x",
                    "query": "SELECT " + ", ".join(f"col_{i}" for i in range(fields)) * 20,
                },
            },
        },
        "inputs": [{"namespace": "s3://lake", "name": f"raw/t{j}", "facets": {"schema": schema}} for j in range(3)],
        "outputs": [
            {"namespace": "s3://lake", "name": "curated/t", "facets": {"schema": schema, "columnLineage": lineage}}
        ],
        "producer": producer,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def rate(fn: Callable[[], object], seconds: float = 3.0) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            fn()
        count += 20
    return count / elapsed


def main() -> None:
    typical = TYPICAL.read_bytes()
    large = json.dumps(large_event()).encode()
    for label, raw in (("typical", typical), ("large", large)):
        decoded = rate(partial(decode_event, raw))

        def process(raw: bytes = raw) -> None:
            route(raw)
            for m in apply(None, raw).mutations:
                encode_mutation(m)

        processed = rate(process)
        print(
            f"{label:8} {len(raw):>9,} bytes  decode {decoded:>9,.0f} events/s  "
            f"{decoded * len(raw) / 1e6:7.1f} MB/s  route+apply+encode {processed:>8,.0f} events/s"
        )


if __name__ == "__main__":
    main()
