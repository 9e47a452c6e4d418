"""Run edges are provisional until a batch run ends; a streaming job's edges never wait."""

from __future__ import annotations

import json

import pytest

from lineage.events import decode_event
from lineage.graph_mapping import run_mutations
from lineage.merge import merge_event
from lineage.mutations import EdgeUpsert, NodeUpsert
from tests.unit.lineage.test_naming import EVENT


def _edge_props(mutations: list[NodeUpsert | EdgeUpsert], rel: str) -> list[dict[str, object]]:
    return [m.props for m in mutations if isinstance(m, EdgeUpsert) and m.type == rel]


@pytest.mark.parametrize(
    ("event_type", "processing", "provisional"),
    [
        ("START", "BATCH", True),
        ("RUNNING", None, True),
        ("COMPLETE", "BATCH", False),
        ("FAIL", None, False),
        ("START", "STREAMING", False),
        ("RUNNING", "streaming", False),
    ],
)
def test_edges_are_provisional_until_a_batch_run_ends(
    event_type: str, processing: str | None, provisional: bool
) -> None:
    job = {"namespace": "flink", "name": "enrich"}
    if processing:
        job["facets"] = {"jobType": {"processingType": processing, "integration": "FLINK", "jobType": "JOB"}}
    event = EVENT | {
        "eventType": event_type,
        "job": job,
        "inputs": [{"namespace": "kafka://b:9092", "name": "in"}],
        "outputs": [{"namespace": "kafka://b:9092", "name": "out"}],
    }
    mutations = run_mutations(merge_event(None, decode_event(json.dumps(event))))  # type: ignore[arg-type]
    assert _edge_props(mutations, "READ") == [{"provisional": provisional}]
    assert _edge_props(mutations, "WROTE") == [
        {
            "provisional": provisional,
            "schemaDigest": None,
            "schemaColumns": None,
            "schemaAt": None,
            "lifecycleStateChange": None,
        }
    ]
