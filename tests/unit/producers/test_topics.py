"""Which newly created topics the brokers' metadata does not show ready yet."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from producers.topics import not_ready


def topic(*leaders: int, error: Any = None) -> SimpleNamespace:
    return SimpleNamespace(
        error=error, partitions={i: SimpleNamespace(leader=leader) for i, leader in enumerate(leaders)}
    )


def test_a_topic_counts_as_ready_once_every_partition_has_a_leader() -> None:
    metadata = {
        "ready": topic(1, 1, 1),
        "unled": topic(1, -1, 1),  # created, a leader not yet elected
        "partial": topic(1, 1),  # not all partitions known yet
        "failing": topic(1, 1, 1, error="LEADER_NOT_AVAILABLE"),
    }
    assert not_ready(metadata, ["ready", "unled", "partial", "failing", "absent"], 3) == [
        "unled",
        "partial",
        "failing",
        "absent",
    ]
    assert not_ready(metadata, ["ready"], 3) == []
