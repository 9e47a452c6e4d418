"""``lineage publish`` and ``lineage dlq`` against a real broker."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from lineage.dead_letter import dead_letter
from lineage.settings import Settings
from producers.dead_letters import read_dead_letters
from producers.event_files import iter_events
from producers.publisher import EventPublisher
from producers.replay import replay
from producers.topics import ensure_topics
from tests.unit.factories import run_event_dict


def read_all(settings: Settings, topic: str, count: int) -> list[bytes]:
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": uuid.uuid4().hex, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    got: list[bytes] = []
    try:
        for _ in range(60):
            got += [m.value() or b"" for m in consumer.consume(count, 1.0) if m.error() is None]
            if len(got) >= count:
                break
        got += [m.value() or b"" for m in consumer.consume(10, 2.0) if m.error() is None]  # nothing more
    finally:
        consumer.close()
    return got


def event(event_type: str, job: str, **kwargs: object) -> bytes:
    return json.dumps(run_event_dict(event_type, run_id=str(uuid.uuid4()), job=("ns", job), **kwargs)).encode()


def mixed_folder(root: Path) -> dict[str, bytes]:
    """A folder of event files, some events broken; returns the valid events by name."""
    single = json.dumps(json.loads(event("START", "single")), indent=2).encode()
    lines = [event("START", "line1"), event("COMPLETE", "line2")]
    element = json.loads(event("START", "element"))
    big = event("START", "big", run_facets={"pad": {"x": "y" * 3000}})
    (root / "sub").mkdir(parents=True)
    (root / "a-single.json").write_bytes(single + b"\n")
    (root / "sub" / "b-lines.ndjson").write_bytes(lines[0] + b"\n\n{not json\n" + lines[1] + b"\n" + big + b"\n")
    (root / "sub" / "c-array.json").write_text(json.dumps([element, {"eventType": "START"}], indent=1))
    (root / "d-broken.json").write_text('{"eventType": ')
    (root / "README.md").write_text("not events")
    return {
        "single": single,
        "line1": lines[0],
        "line2": lines[1],
        "element": json.dumps(element, separators=(",", ":")).encode(),
        "big": big,
    }


def test_a_folder_replays_its_valid_events_and_reports_the_rest(settings: Settings, tmp_path: Path) -> None:
    ensure_topics(settings.kafka_bootstrap, [settings.events_topic], settings.topic_partitions)
    valid = mixed_folder(tmp_path / "events")
    publisher = EventPublisher(settings.kafka_bootstrap, settings.events_topic)

    summary = replay(iter_events([tmp_path / "events"]), publisher, max_event_bytes=2048)

    assert (summary.sent, summary.rejected, summary.failed) == (4, 4, 0)
    assert (summary.files.read, summary.files.skipped) == (4, 1)
    by_reason = summary.rejected_by_reason
    lines_file = tmp_path / "events" / "sub" / "b-lines.ndjson"
    assert [e.origin for e in by_reason["not-json"].examples] == [
        str(tmp_path / "events" / "d-broken.json"),
        f"{lines_file}:3",
    ]
    assert [e.origin for e in by_reason["too-large"].examples] == [f"{lines_file}:5"]
    [other] = set(by_reason) - {"not-json", "too-large"}  # the schema problem, named by the validator
    assert [e.origin for e in by_reason[other].examples] == [f"{tmp_path / 'events' / 'sub' / 'c-array.json'}#1"]
    assert summary.exit_code == 1

    got = read_all(settings, settings.events_topic, 4)
    assert sorted(got) == sorted([valid["single"], valid["line1"], valid["line2"], valid["element"]])


def test_without_validation_everything_is_sent_for_the_processor_to_dead_letter(
    settings: Settings, tmp_path: Path
) -> None:
    ensure_topics(settings.kafka_bootstrap, [settings.events_topic], settings.topic_partitions)
    mixed_folder(tmp_path / "events")
    publisher = EventPublisher(settings.kafka_bootstrap, settings.events_topic)

    summary = replay(iter_events([tmp_path / "events"]), publisher, validate=False, max_event_bytes=2048)

    assert (summary.sent, summary.rejected, summary.failed, summary.exit_code) == (8, 0, 0, 0)
    got = read_all(settings, settings.events_topic, 8)
    assert len(got) == 8
    assert b"{not json" in got and b'{"eventType":' in got  # bytes as in the files, less surrounding space


def test_dead_letters_written_to_the_topic_are_read_back(settings: Settings) -> None:
    ensure_topics(settings.kafka_bootstrap, [settings.dlq_topic], settings.topic_partitions)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    first = dead_letter(
        b"{oops",
        "not-json",
        "Expecting value",
        settings.events_topic,
        1,
        17,
        datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC),
    )
    second = dead_letter(
        b'{"eventType": "START"}',
        "schema-invalid",
        "run: Field required",
        settings.events_topic,
        0,
        3,
        datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC),
    )
    producer.produce(settings.dlq_topic, value=first, partition=2)
    producer.produce(settings.dlq_topic, value=second, partition=0)
    assert producer.flush(30) == 0

    letters = read_dead_letters(settings.kafka_bootstrap, settings.dlq_topic, limit=10, timeout=30)

    assert [(d.reason, d.raw, d.source, d.partition, d.offset) for d in letters] == [
        ("not-json", b"{oops", f"{settings.events_topic}[1]@17", 2, 0),
        ("schema-invalid", b'{"eventType": "START"}', f"{settings.events_topic}[0]@3", 0, 0),
    ]
    assert letters[0].message == "Expecting value"
    assert letters[1].failed_at == "2024-05-01T12:00:01+00:00"
    newest = read_dead_letters(settings.kafka_bootstrap, settings.dlq_topic, 1, 30, from_beginning=False)
    assert [d.reason for d in newest] == ["schema-invalid"]
    absent = f"{settings.dlq_topic}.absent"
    assert read_dead_letters(settings.kafka_bootstrap, absent, 10, 10) == []
    assert absent not in AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).list_topics(timeout=10).topics
