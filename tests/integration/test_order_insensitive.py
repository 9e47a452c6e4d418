"""The same workload published in order and then shuffled with duplicates leaves identical graphs
(compared as a canonical export of every node and relationship with its properties)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import neo4j

from lineage.canonical import canonical_json
from lineage.settings import Settings
from tests.integration.workloads import fresh, process, with_aliases_and_facets, workload


def test_in_order_and_shuffled_with_duplicates_give_one_graph(
    settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path
) -> None:
    events = with_aliases_and_facets(workload(seed=3))
    rng = random.Random(5)
    shuffled = events + rng.sample(events, len(events) // 3)
    rng.shuffle(shuffled)

    in_order = process(fresh(settings, tmp_path / "a"), events, empty_graph, tmp_path / "a-logs")
    reordered = process(fresh(settings, tmp_path / "b"), shuffled, empty_graph, tmp_path / "b-logs")

    assert len(in_order["rels"]) > 1000  # the comparison is about a real graph
    assert any(r.startswith("ALIAS_OF") for r in in_order["rels"])
    assert any(r.startswith("CHILD_OF") for r in in_order["rels"])
    assert reordered == in_order
    # Shared jobs and datasets show the facets of their latest event, not of the last processed.
    latest_sql = max(
        (e["eventTime"], e["job"]["facets"]["sql"]["query"]) for e in events if e["job"]["name"] == "job_0"
    )[1]
    (job,) = [n for n in in_order["nodes"] if n.startswith("['Job']") and '"name": "job_0"' in n]
    assert json.dumps(canonical_json({"query": latest_sql})) in job
