"""The worker's preparation of its topics, with Kafka's answers faked (the real thing is in
tests/integration/test_pipeline.py)."""

from __future__ import annotations

from typing import Any

import pytest

from lineage.settings import Settings
from stream_processor import worker
from stream_processor.app import all_topics, create_app
from stream_processor.worker import StateTopicMismatch, prepare_topics


def test_the_changelog_the_worker_prepares_is_the_one_faust_writes(tmp_path: Any) -> None:
    settings = Settings(home=tmp_path, processor_group="g")
    table = create_app(settings).run_table
    assert table.changelog_topic.get_topic_name() == "g-runs-changelog"
    assert table.changelog_topic.compacting


def test_the_changelog_is_created_compacted_with_the_other_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[list[str], list[str]]] = []

    def ensure_topics(settings: Settings, topics: Any, compacted: Any = ()) -> dict[str, int]:
        calls.append((list(topics), list(compacted)))
        return dict.fromkeys(topics, settings.topic_partitions)

    monkeypatch.setattr(worker, "ensure_settings_topics", ensure_topics)
    settings = Settings()
    prepare_topics(settings, "g-runs-changelog")
    assert calls == [([*all_topics(settings), "g-runs-changelog"], ["g-runs-changelog"])]


def test_a_changelog_unlike_the_runs_topic_is_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    def ensure_topics(settings: Settings, topics: Any, compacted: Any = ()) -> dict[str, int]:
        return dict.fromkeys(topics, 6) | {"g-runs-changelog": 3}

    monkeypatch.setattr(worker, "ensure_settings_topics", ensure_topics)
    with pytest.raises(StateTopicMismatch) as err:
        prepare_topics(Settings(), "g-runs-changelog")
    message = str(err.value)
    assert "'lineage.runs' has 6 partitions" in message
    assert "'g-runs-changelog' has 3" in message
    assert "same number of partitions" in message
