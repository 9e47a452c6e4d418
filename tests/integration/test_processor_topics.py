"""The processor prepares its topics on real Kafka before it joins its group, and refuses to
start on a run-state changelog that does not match the runs topic."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from lineage.settings import Settings
from producers.topics import MAX_MESSAGE_BYTES, TopicCreationFailed, ensure_topics
from stream_processor.app import all_topics
from stream_processor.worker import prepare_topics
from tests.integration.components import settings_env
from tests.integration.services import lineage_command


def changelog(settings: Settings) -> str:
    return f"{settings.processor_group}-runs-changelog"


def test_the_state_changelog_is_created_compacted_and_ready_with_the_other_topics(settings: Settings) -> None:
    prepare_topics(settings, changelog(settings))
    # Right away, as the worker would: every partition of every topic is in the brokers' metadata.
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    metadata = admin.list_topics(timeout=10).topics
    for topic in [*all_topics(settings), changelog(settings)]:
        partitions = metadata[topic].partitions
        assert len(partitions) == settings.topic_partitions, topic
        assert all(p.leader >= 0 for p in partitions.values()), topic
    [configs] = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, changelog(settings))]).values()
    config = configs.result()
    assert config["cleanup.policy"].value == "compact"
    assert config["max.message.bytes"].value == str(MAX_MESSAGE_BYTES)


def test_a_processor_refuses_a_changelog_unlike_the_runs_topic(settings: Settings, tmp_path: Path) -> None:
    ensure_topics(settings.kafka_bootstrap, [changelog(settings)], 1)  # e.g. recreated by hand
    done = subprocess.run(
        lineage_command("process"), env=settings_env(settings), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert f"has {settings.topic_partitions} partitions but the run-state changelog" in done.stderr
    assert "same number of partitions" in done.stderr


def test_topics_take_the_brokers_replication_unless_told_and_a_refusal_says_why(settings: Settings) -> None:
    ensure_topics(settings.kafka_bootstrap, [settings.events_topic], 2)
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    cluster = admin.list_topics(timeout=10)
    brokers = len(cluster.brokers)
    [broker_config] = admin.describe_configs(
        [ConfigResource(ConfigResource.Type.BROKER, str(next(iter(cluster.brokers))))]
    ).values()
    default = int(broker_config.result()["default.replication.factor"].value)
    partitions = admin.list_topics(settings.events_topic, timeout=10).topics[settings.events_topic].partitions
    assert {len(p.replicas) for p in partitions.values()} == {default}
    too_many = brokers + 1
    with pytest.raises(TopicCreationFailed) as err:
        ensure_topics(settings.kafka_bootstrap, [settings.graph_topic], 2, replication=too_many)
    message = str(err.value)
    assert f"refused to create topic '{settings.graph_topic}' (2 partitions, replication {too_many})" in message
    assert "LINEAGE_TOPIC_REPLICATION" in message
