"""The gap check of stream_processor.faust_fixes reads a real topic: records that are there are
found; a range retention deleted counts as a real gap."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer

from lineage.settings import Settings
from producers.topics import ensure_topics
from stream_processor.faust_fixes import DroppedRecords, _records_between


def test_records_in_a_range_are_found_and_a_range_past_the_end_cannot_be_checked(settings: Settings) -> None:
    topic = f"gap-check-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings.kafka_bootstrap, [topic], 1)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True})
    for i in range(10):
        producer.produce(topic, value=str(i).encode(), partition=0)
    assert producer.flush(30) == 0
    assert _records_between(settings.kafka_client_config(), topic, 0, 3, 7) == [3, 4, 5, 6]
    assert _records_between(settings.kafka_client_config(), topic, 0, 9, 9) == []
    with pytest.raises(DroppedRecords, match=r"could not read offsets 8\.\.20"):
        _records_between(settings.kafka_client_config(), topic, 0, 8, 20, timeout=2)
