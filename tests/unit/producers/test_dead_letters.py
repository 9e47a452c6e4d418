"""Reading dead letters: decoding envelopes, reading a topic to its end offsets, the table."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError

from lineage.dead_letter import dead_letter
from producers.dead_letters import (
    PREVIEW_CHARS,
    DeadLetter,
    decode_dead_letter,
    format_dead_letters,
    read_dead_letters,
)

T0 = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def letter(raw: bytes, reason: str = "schema-invalid", offset: int = 7, second: int = 5) -> bytes:
    return dead_letter(raw, reason, f"{reason} details", "openlineage.events", 2, offset, T0.replace(second=second))


# --- decoding --------------------------------------------------------------------------------


def test_an_envelope_decodes_to_its_fields_and_the_exact_raw_bytes() -> None:
    raw = b'{"eventType": "START",\n "bad": "\xff\xfe"}'
    got = decode_dead_letter(letter(raw), topic="dlq", partition=1, offset=42)
    assert got == DeadLetter(
        reason="schema-invalid",
        message="schema-invalid details",
        source_topic="openlineage.events",
        source_partition=2,
        source_offset=7,
        failed_at="2024-01-02T03:04:05.678000+00:00",
        raw=raw,
        topic="dlq",
        partition=1,
        offset=42,
        raw_bytes=len(raw),
    )
    assert got.source == "openlineage.events[2]@7"
    assert got.preview == '{"eventType": "START", "bad": "\ufffd\ufffd"}'  # one line, undecodable bytes shown


def test_the_preview_is_short_and_printable() -> None:
    got = decode_dead_letter(letter(b"\x00\x01" + b"x" * 500))
    assert len(got.preview) == PREVIEW_CHARS
    assert got.preview.startswith("??xxx") and got.preview.endswith("…")
    assert decode_dead_letter(letter(b"")).preview == "(empty)"


def test_what_is_not_an_envelope_is_shown_not_dropped() -> None:
    got = decode_dead_letter(b"not json at all", partition=0, offset=3)
    assert (got.reason, got.raw, got.offset) == ("bad-envelope", b"not json at all", 3)
    half = decode_dead_letter(json.dumps({"reason": "not-json", "raw": "***"}).encode())
    assert (half.reason, half.raw, half.source) == ("not-json", b"", "?")
    assert "not base64" in half.message


def test_a_too_large_event_shows_its_size_as_the_processor_kept_only_its_start() -> None:
    raw = b'{"pad": "' + b"x" * 200_000 + b'"}'
    got = decode_dead_letter(dead_letter(raw, "too-large", "too large", "t", 0, 0, T0))
    assert got.raw_truncated and got.raw_bytes == len(raw) and raw.startswith(got.raw)
    assert got.preview.endswith("… (200,011 bytes)") and len(got.preview) <= PREVIEW_CHARS
    assert got.as_dict()["rawBytes"] == len(raw) and got.as_dict()["rawTruncated"] is True
    whole = decode_dead_letter(letter(b"{}"))
    assert (whole.raw_truncated, whole.as_dict()["rawBytes"]) == (False, 2)


def test_as_dict_keeps_the_raw_bytes_as_base64() -> None:
    data = decode_dead_letter(letter(b"\xff{"), partition=0, offset=1).as_dict()
    assert base64.b64decode(data["raw"]) == b"\xff{"
    assert data["source"] == {"topic": "openlineage.events", "partition": 2, "offset": 7}
    assert data["failedAt"] == "2024-01-02T03:04:05.678000+00:00"
    assert data["dlq"] == {"topic": None, "partition": 0, "offset": 1}
    json.dumps(data)


# --- formatting ------------------------------------------------------------------------------


def test_the_table_has_a_row_per_letter_and_a_count_per_reason() -> None:
    letters = [
        decode_dead_letter(letter(b'{"a": 1}', "not-json", 1, second=1)),
        decode_dead_letter(letter(b'{"b": 2}', "schema-invalid", 2, second=2)),
        decode_dead_letter(letter(b'{"c": 3}', "schema-invalid", 3, second=3)),
    ]
    lines = format_dead_letters(letters).splitlines()
    assert lines[0].split() == ["time", "(UTC)", "reason", "source", "message", "preview"]
    assert lines[1].split() == [
        "2024-01-02",
        "03:04:01",
        "not-json",
        "openlineage.events[2]@1",
        "not-json",
        "details",
        '{"a":',
        "1}",
    ]
    assert lines[3].startswith("2024-01-02 03:04:03  schema-invalid  openlineage.events[2]@3")
    assert lines[-1] == "3 dead letters: schema-invalid 2, not-json 1"
    assert format_dead_letters([]) == "no dead letters"


def test_long_messages_are_cut_to_keep_the_table_readable() -> None:
    long = dead_letter(b"{}", "schema-invalid", "x" * 500 + "\nsecond line", "t", 0, 0, T0)
    row = format_dead_letters([decode_dead_letter(long)]).splitlines()[1]
    assert "x" * 59 + "…" in row and "second line" not in row


# --- reading a topic, with a fake consumer ---------------------------------------------------


class FakeError:
    def __init__(self, code: int) -> None:
        self._code = code

    def code(self) -> int:
        return self._code

    def fatal(self) -> bool:
        return False


class FakeMessage:
    def __init__(self, partition: int, offset: int, value: bytes | None, error: FakeError | None = None) -> None:
        self._partition, self._offset, self._value, self._error = partition, offset, value, error

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes | None:
        return self._value

    def error(self) -> FakeError | None:
        return self._error


class FakeConsumer:
    """A topic whose partitions hold ``logs``; ``arriving`` letters are appended once assigned."""

    def __init__(
        self,
        logs: dict[int, list[bytes]],
        arriving: dict[int, list[bytes]] | None = None,
        low: int = 0,
        exists: bool = True,
    ) -> None:
        self.logs, self.arriving, self.low, self.exists = logs, arriving or {}, low, exists
        self.config: dict[str, Any] = {}
        self.positions: dict[int, int] = {}
        self.closed = False
        self.eof_sent: set[int] = set()

    def __call__(self, config: dict[str, Any]) -> FakeConsumer:
        self.config = config
        return self

    def list_topics(self, topic: str, timeout: float) -> Any:
        if not self.exists:
            missing = SimpleNamespace(error=FakeError(KafkaError.UNKNOWN_TOPIC_OR_PART), partitions={})
            return SimpleNamespace(topics={topic: missing})
        return SimpleNamespace(topics={topic: SimpleNamespace(error=None, partitions=dict.fromkeys(self.logs))})

    def get_watermark_offsets(self, tp: Any, timeout: float, cached: bool) -> tuple[int, int]:
        return self.low, self.low + len(self.logs[tp.partition])

    def assign(self, partitions: list[Any]) -> None:
        self.positions = {tp.partition: tp.offset for tp in partitions}
        for p, extra in self.arriving.items():
            self.logs[p] = self.logs[p] + extra

    def poll(self, timeout: float) -> FakeMessage | None:
        for p, position in sorted(self.positions.items()):
            log = self.logs[p]
            if position - self.low < len(log):
                self.positions[p] += 1
                return FakeMessage(p, position, log[position - self.low])
            if p not in self.eof_sent:
                self.eof_sent.add(p)
                return FakeMessage(p, position, None, FakeError(KafkaError._PARTITION_EOF))
        return None

    def commit(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("a dead-letter reader must not commit")

    def close(self) -> None:
        self.closed = True


def test_reads_every_partition_from_its_start_to_the_end_present_at_start_without_committing() -> None:
    fake = FakeConsumer(
        {
            0: [letter(b"a", offset=0, second=1), letter(b"c", offset=1, second=3)],
            1: [letter(b"b", offset=0, second=2)],
            2: [],
        },
        arriving={1: [letter(b"late", second=9)]},  # written after the reader started: not waited for
        low=10,
    )
    got = read_dead_letters("k:9092", "dlq", limit=None, timeout=5, consumer_factory=fake)
    assert [d.raw for d in got] == [b"a", b"b", b"c"]  # oldest first
    assert [(d.partition, d.offset) for d in got] == [(0, 10), (1, 10), (0, 11)]
    assert fake.closed
    assert fake.config["enable.auto.commit"] is False
    assert fake.config["group.id"].startswith("lineage-dlq-reader-")
    second = FakeConsumer({0: []})
    read_dead_letters("k:9092", "dlq", consumer_factory=second)
    assert second.config["group.id"] != fake.config["group.id"]  # a throwaway group each time


def test_limit_takes_the_oldest_or_with_from_beginning_false_the_newest() -> None:
    def logs() -> dict[int, list[bytes]]:
        return {
            0: [letter(b"0", second=0), letter(b"2", second=2), letter(b"4", second=4)],
            1: [letter(b"1", second=1), letter(b"3", second=3)],
        }

    first = read_dead_letters("k:9092", "dlq", 2, 5, consumer_factory=FakeConsumer(logs()))
    assert [d.raw for d in first] == [b"0", b"1"]
    last = read_dead_letters("k:9092", "dlq", 2, 5, from_beginning=False, consumer_factory=FakeConsumer(logs()))
    assert [d.raw for d in last] == [b"3", b"4"]


def test_an_absent_topic_has_no_dead_letters() -> None:
    fake = FakeConsumer({}, exists=False)
    assert read_dead_letters("k:9092", "dlq", consumer_factory=fake) == []
    assert fake.closed


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_below_one_reads_nothing(limit: int) -> None:
    assert read_dead_letters("k:9092", "dlq", limit, consumer_factory=FakeConsumer({0: [letter(b"x")]})) == []
