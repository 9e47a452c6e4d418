"""Reading the dead-letter topic: ``lineage dlq``.

The processor writes one envelope per event it could not process (``lineage.dead_letter``):
reason, message, source topic/partition/offset, failedAt and the raw bytes in base64 (only the
start of a too-large event: ``rawTruncated``, ``rawBytes``).
``read_dead_letters`` reads them back without side effects: a throwaway consumer group that
never joins (partitions are assigned explicitly) and never commits, reading from each
partition's start (or, with ``from_beginning=False``, its last ``limit`` letters) up to the end
offsets present when it started, so it terminates however busy the topic is.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from producers.topics import (
    REACH_SECONDS,
    ClientErrors,
    KafkaUnavailable,
    first_answer,
    quiet_client_config,
    what_to_check,
)

logger = logging.getLogger(__name__)

PREVIEW_CHARS = 60


@dataclass(frozen=True, slots=True)
class DeadLetter:
    reason: str
    message: str
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None
    failed_at: str  # ISO-8601, as the processor wrote it
    raw: bytes  # the event exactly as it was received (its start only, if raw_truncated)
    # Where the letter itself is, in the dead-letter topic.
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    raw_truncated: bool = False  # the processor kept only the start of a too-large event
    raw_bytes: int | None = None  # the event's full size (None: len(raw))

    @property
    def source(self) -> str:
        if self.source_topic is None:
            return "?"
        return f"{self.source_topic}[{_or_q(self.source_partition)}]@{_or_q(self.source_offset)}"

    @property
    def preview(self) -> str:
        """The start of the raw event on one line, for a table cell."""
        if not self.raw:
            return "(empty)"
        text = " ".join(self.raw.decode("utf-8", errors="replace").split())
        text = "".join(c if c.isprintable() else "?" for c in text)
        if self.raw_truncated and self.raw_bytes is not None:
            suffix = f" ({self.raw_bytes:,} bytes)"
            return _cut(text, PREVIEW_CHARS - len(suffix)) + suffix
        return _cut(text, PREVIEW_CHARS)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "message": self.message,
            "source": {"topic": self.source_topic, "partition": self.source_partition, "offset": self.source_offset},
            "failedAt": self.failed_at,
            "raw": base64.b64encode(self.raw).decode("ascii"),
            "rawBytes": len(self.raw) if self.raw_bytes is None else self.raw_bytes,
            "rawTruncated": self.raw_truncated,
            "preview": self.preview,
            "dlq": {"topic": self.topic, "partition": self.partition, "offset": self.offset},
        }


def decode_dead_letter(
    value: bytes | None, *, topic: str | None = None, partition: int | None = None, offset: int | None = None
) -> DeadLetter:
    """A dead letter from an envelope; what is not an envelope gets reason ``bad-envelope``."""
    where: dict[str, Any] = {"topic": topic, "partition": partition, "offset": offset}
    try:
        envelope = json.loads(value or b"")
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict):
        return DeadLetter(
            "bad-envelope", "not a dead-letter envelope (a JSON object)", None, None, None, "", value or b"", **where
        )
    source = envelope.get("source")
    source = source if isinstance(source, dict) else {}
    message = str(envelope.get("message") or "")
    try:
        raw = base64.b64decode(envelope.get("raw") or "", validate=True)
    except (binascii.Error, TypeError, ValueError):
        raw = b""
        message = f"{message} (the envelope's raw bytes are not base64)".lstrip()
    return DeadLetter(
        reason=str(envelope.get("reason") or "unknown"),
        message=message,
        source_topic=_str(source.get("topic")),
        source_partition=_int(source.get("partition")),
        source_offset=_int(source.get("offset")),
        failed_at=str(envelope.get("failedAt") or ""),
        raw=raw,
        **where,
        raw_truncated=envelope.get("rawTruncated") is True,
        raw_bytes=_int(envelope.get("rawBytes")),
    )


def read_dead_letters(
    bootstrap: str,
    topic: str,
    limit: int | None = 100,
    timeout: float = 30.0,
    from_beginning: bool = True,
    *,
    consumer_factory: Callable[[dict[str, Any]], Any] = Consumer,
    kafka_config: Mapping[str, Any] | None = None,
) -> list[DeadLetter]:
    """The first ``limit`` dead letters (or the last, with ``from_beginning=False``), oldest first.

    ``limit=None`` reads them all. An absent topic has none. ``kafka_config``: the security
    settings (``Settings.kafka_security_config``). Raises KafkaUnavailable when Kafka cannot be
    reached (KafkaAuthenticationFailed when it refuses the credentials); if the end offsets are not
    reached within ``timeout`` seconds, returns what was read and logs a warning.
    """
    if limit is not None and limit < 1:
        return []
    deadline = time.monotonic() + timeout
    config, errors = quiet_client_config({"bootstrap.servers": bootstrap, **(kafka_config or {})})
    consumer = consumer_factory(
        {
            **config,
            "group.id": f"lineage-dlq-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "allow.auto.create.topics": False,
        }
    )
    try:
        ranges = _ranges(consumer, errors, config, topic, limit, from_beginning, deadline)
        letters = _consume(consumer, topic, ranges, deadline) if ranges else []
    finally:
        consumer.close()
    letters.sort(key=lambda d: (d.failed_at, d.partition or 0, d.offset or 0))
    if limit is not None:
        letters = letters[:limit] if from_beginning else letters[-limit:]
    return letters


def _ranges(
    consumer: Any,
    errors: ClientErrors,
    config: Mapping[str, Any],
    topic: str,
    limit: int | None,
    from_beginning: bool,
    deadline: float,
) -> dict[int, tuple[int, int]]:
    """Per partition, the offsets [start, end) to read."""
    bootstrap = config["bootstrap.servers"]
    try:
        metadata = first_answer(consumer, errors, min(_left(deadline), REACH_SECONDS), topic)
        found = metadata.topics.get(topic)
        if found is None or (found.error is not None and found.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
            return {}
        if found.error is not None:
            raise KafkaException(found.error)
        ranges = {}
        for partition in sorted(found.partitions):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=_left(deadline), cached=False
            )
            if limit is None:
                start, end = low, high
            elif from_beginning:
                start, end = low, min(high, low + limit)
            else:
                start, end = max(low, high - limit), high
            if start < end:
                ranges[partition] = (start, end)
        return ranges
    except KafkaException as exc:
        raise KafkaUnavailable(
            f"cannot read topic {topic} from Kafka at {bootstrap} ({exc.args[0]}). {what_to_check(config)}"
        ) from exc


def _consume(consumer: Any, topic: str, ranges: dict[int, tuple[int, int]], deadline: float) -> list[DeadLetter]:
    consumer.assign([TopicPartition(topic, partition, start) for partition, (start, _end) in ranges.items()])
    pending = {partition: end for partition, (_start, end) in ranges.items()}
    letters: list[DeadLetter] = []
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            logger.warning(
                "dead letters read incompletely topic=%s read=%d partitions-unfinished=%s",
                topic,
                len(letters),
                sorted(pending),
            )
            break
        msg = consumer.poll(min(left, 1.0))
        if msg is None:
            continue
        partition = msg.partition()
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                pending.pop(partition, None)
            elif error.fatal():
                raise KafkaException(error)
            else:
                logger.warning("reading dead letters topic=%s: %s", topic, error)
            continue
        end = pending.get(partition)
        if end is None:
            continue
        offset = msg.offset()
        if offset < end:
            letters.append(decode_dead_letter(msg.value(), topic=topic, partition=partition, offset=offset))
        if offset >= end - 1:
            pending.pop(partition)
    return letters


def format_dead_letters(items: Iterable[DeadLetter]) -> str:
    """A table (time, reason, source, message, preview), then the count per reason."""
    letters = list(items)
    if not letters:
        return "no dead letters"
    header = ("time (UTC)", "reason", "source", "message", "preview")
    caps = (20, 24, 48, 60, PREVIEW_CHARS)
    rows = [(_time(d.failed_at), d.reason, d.source, " ".join(d.message.split()), d.preview) for d in letters]
    cells = [[_cut(cell, cap) for cell, cap in zip(row, caps, strict=True)] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    counts = sorted(Counter(d.reason for d in letters).items(), key=lambda kv: (-kv[1], kv[0]))
    by_reason = ", ".join(f"{reason} {count}" for reason, count in counts)
    lines.append("")
    lines.append(f"{len(letters)} dead {'letter' if len(letters) == 1 else 'letters'}: {by_reason}")
    return "\n".join(lines)


def _time(failed_at: str) -> str:
    try:
        moment = datetime.fromisoformat(failed_at)
    except ValueError:
        return failed_at or "?"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _left(deadline: float) -> float:
    return max(0.1, deadline - time.monotonic())


def _or_q(value: int | None) -> str:
    return "?" if value is None else str(value)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
