"""The publisher against a real broker: client message keys, and failures surfaced."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, ConfigResource

from lineage.settings import Settings
from producers.publisher import DeliveryFailed, EventPublisher
from producers.topics import MAX_MESSAGE_BYTES, ensure_topics


def read_all(settings: Settings, topic: str, count: int) -> list[tuple[bytes | None, bytes]]:
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": uuid.uuid4().hex, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    got: list[tuple[bytes | None, bytes]] = []
    try:
        for _ in range(60):
            got += [(m.key(), m.value() or b"") for m in consumer.consume(count, 1.0) if m.error() is None]
            if len(got) >= count:
                break
    finally:
        consumer.close()
    return got


def test_events_are_keyed_like_the_openlineage_clients_and_arrive_intact(settings: Settings) -> None:
    ensure_topics(settings.kafka_bootstrap, [settings.events_topic], 1)
    child = {
        "eventType": "START",
        "run": {
            "runId": str(uuid.uuid4()),
            "facets": {
                "parent": {
                    "run": {"runId": str(uuid.uuid4())},
                    "job": {"namespace": "airflow", "name": "dag.task"},
                    "root": {"run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "airflow", "name": "dag"}},
                }
            },
        },
        "job": {"namespace": "spark", "name": "app.stage"},
        "name": "ünïcødé ✓",
    }
    raw = b'{"eventType":"COMPLETE","job":{"namespace":"dbt","name":"model"},"run":{"runId":"r"}}'
    with EventPublisher(settings.kafka_bootstrap, settings.events_topic) as publisher:
        assert publisher.publish([child, raw]) == 2
    got = read_all(settings, settings.events_topic, 2)
    assert [key for key, _ in got] == [b"run:airflow/dag", b"run:dbt/model"]
    assert json.loads(got[0][1]) == child
    assert got[1][1] == raw  # bytes are sent as they are


def test_an_undeliverable_event_is_reported_not_dropped(settings: Settings) -> None:
    ensure_topics(settings.kafka_bootstrap, [settings.events_topic], 1)
    publisher = EventPublisher(settings.kafka_bootstrap, settings.events_topic, {"message.timeout.ms": 3000})
    publisher.publish([{"eventType": "START", "job": {"namespace": "n", "name": "j"}, "pad": "x" * 20_000_000}])
    with pytest.raises(DeliveryFailed) as err:
        publisher.flush(timeout=30)
    assert len(err.value.errors) == 1


def test_created_topics_take_records_as_large_as_the_producers_send(settings: Settings) -> None:
    ensure_topics(settings.kafka_bootstrap, [settings.events_topic, settings.graph_topic], 3)
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    resources = [ConfigResource(ConfigResource.Type.TOPIC, t) for t in (settings.events_topic, settings.graph_topic)]
    for future in admin.describe_configs(resources).values():
        assert future.result()["max.message.bytes"].value == str(MAX_MESSAGE_BYTES)
