"""Waiting until newly created topics are ready in the brokers' metadata (Kafka's answers faked;
tests/integration/test_processor_topics.py has the real thing)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from producers import topics
from producers.topics import TopicsNotReady, not_ready, wait_until_ready


def topic(*leaders: int, error: Any = None) -> SimpleNamespace:
    return SimpleNamespace(
        error=error, partitions={i: SimpleNamespace(leader=leader) for i, leader in enumerate(leaders)}
    )


def test_a_topic_counts_as_ready_once_it_has_partitions_each_with_a_leader() -> None:
    metadata = {
        "ready": topic(1, 1, 1),
        "other-count": topic(1),  # created elsewhere with another count: ready, the caller compares counts
        "unled": topic(1, -1, 1),  # created, a leader not yet elected
        "empty": topic(),
        "failing": topic(1, 1, 1, error="LEADER_NOT_AVAILABLE"),
    }
    assert not_ready(metadata, ["ready", "other-count", "unled", "empty", "failing", "absent"]) == [
        "unled",
        "empty",
        "failing",
        "absent",
    ]


class Admin:
    """Answers list_topics with each of ``answers`` in turn, then the last one forever."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def list_topics(self, timeout: float) -> SimpleNamespace:
        self.calls += 1
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        return SimpleNamespace(topics=answer)


def test_waits_until_the_metadata_shows_the_new_topics_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topics, "METADATA_POLL_SECONDS", 0)
    admin = Admin({}, {"t": topic(-1, 1)}, {"t": topic(1, 1)})
    metadata = wait_until_ready(admin, "kafka:9092", ["t"], timeout=30)
    assert admin.calls == 3
    assert len(metadata["t"].partitions) == 2


def test_gives_up_after_the_timeout_naming_the_topics_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topics, "METADATA_POLL_SECONDS", 0.01)
    admin = Admin({"ready": topic(1), "stuck": topic(-1)})
    with pytest.raises(TopicsNotReady) as err:
        wait_until_ready(admin, "kafka:9092", ["ready", "stuck"], timeout=0.1)
    assert admin.calls > 1
    assert "created topic(s) stuck on Kafka at kafka:9092" in str(err.value)
