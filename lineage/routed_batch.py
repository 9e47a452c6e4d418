"""The processor's internal runs topic carries events in batches: one Kafka message holds every
event a route batch sent to one partition, each with its key and where it was first read.

Per-message work in Faust and Kafka (a send, a fetch, an acknowledgement, about 100 µs each) is
far larger than the few microseconds of packing; an event re-keyed on its own paid it twice. The
events inside stay byte for byte as the integration sent them.

Binary, little-endian: the magic ``LRB1``, the source topic's name (u16 length, UTF-8), the
count (u32), then per event its source partition (i32), source offset (i64), key length (u32),
value length (u32), key and value. A message without the magic is one event on its own (as the
runs topic carried them before), read with the message's own key and place.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import NamedTuple

MAGIC = b"LRB1"
_HEAD = struct.Struct("<H")
_COUNT = struct.Struct("<I")
_ENTRY = struct.Struct("<iqII")


class Source(NamedTuple):
    """Where an event was first read: what a dead letter names."""

    topic: str
    partition: int
    offset: int


class RoutedEvent(NamedTuple):
    key: bytes
    value: bytes
    source: Source


class BadBatch(ValueError):
    """Bytes that start like a batch but do not hold one (a foreign producer on the runs topic)."""


def pack(topic: str, events: Sequence[tuple[bytes, bytes, int, int]]) -> bytes:
    """One message holding ``events`` (key, value, source partition, source offset), all read from
    ``topic``."""
    name = topic.encode()
    parts = [MAGIC, _HEAD.pack(len(name)), name, _COUNT.pack(len(events))]
    for key, value, partition, offset in events:
        parts.append(_ENTRY.pack(partition, offset, len(key), len(value)))
        parts.append(key)
        parts.append(value)
    return b"".join(parts)


def packed_size(key: bytes, value: bytes) -> int:
    """What one event adds to a batch (``size_of_empty`` plus this, per event, is the message)."""
    return _ENTRY.size + len(key) + len(value)


def size_of_empty(topic: str) -> int:
    return len(MAGIC) + _HEAD.size + len(topic.encode()) + _COUNT.size


def chunks(
    topic: str, events: Sequence[tuple[bytes, bytes, int, int]], limit: int
) -> Iterator[Sequence[tuple[bytes, bytes, int, int]]]:
    """``events`` cut, in order, into runs that each pack into at most ``limit`` bytes (an event
    too large for that alone goes in a batch of its own)."""
    start, size = 0, size_of_empty(topic)
    for index, (key, value, _, _) in enumerate(events):
        added = packed_size(key, value)
        if index > start and size + added > limit:
            yield events[start:index]
            start, size = index, size_of_empty(topic)
        size += added
    if start < len(events):
        yield events[start:]


def is_batch(value: bytes) -> bool:
    return value[:4] == MAGIC


def unpack(value: bytes) -> list[RoutedEvent]:
    """The events a batch holds, in the order they were packed. Raises BadBatch."""
    view = memoryview(value)
    try:
        if bytes(view[:4]) != MAGIC:
            raise BadBatch("no batch marker")
        (length,) = _HEAD.unpack_from(view, 4)
        position = 4 + _HEAD.size
        topic = bytes(view[position : position + length]).decode()
        position += length
        (count,) = _COUNT.unpack_from(view, position)
        position += _COUNT.size
        out: list[RoutedEvent] = []
        for _ in range(count):
            partition, offset, key_length, value_length = _ENTRY.unpack_from(view, position)
            position += _ENTRY.size
            if position + key_length + value_length > len(view):
                raise BadBatch("an event runs past the end")
            key = bytes(view[position : position + key_length])
            position += key_length
            body = bytes(view[position : position + value_length])
            out.append(RoutedEvent(key, body, Source(topic, partition, offset)))
            position += value_length
    except (struct.error, UnicodeDecodeError) as exc:
        raise BadBatch(f"truncated or garbled: {exc}") from exc
    if position != len(view):
        raise BadBatch(f"{len(view) - position} bytes after the last event")
    return out
