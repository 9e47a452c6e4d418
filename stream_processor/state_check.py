"""Refusing to start on run state saved against another Kafka: the worker's RocksDB store remembers,
per partition, the last changelog offset it holds. When that is past the end of the changelog
topic, the topic was deleted or recreated (the local stack's data folder removed, say) or the
folder belongs to another cluster; Faust would stop with a ConsistencyError deep in its recovery.
This says what happened and what to do, before the worker joins its group."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from confluent_kafka import IsolationLevel, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

# Where Faust's RocksDB store keeps the offset of the last changelog record a partition's state holds.
OFFSET_KEY = b"__faust\0offset__"
# How long to wait for a changelog topic's partitions to have leaders.
SETTLE_SECONDS = 30.0


class StaleState(RuntimeError):
    """The local run state is ahead of the changelog topic; the message says what to delete."""


def saved_offsets(tables: Path, table: str, partitions: int) -> dict[int, int]:
    """The changelog offset each partition's store on disk holds up to (partitions without a store
    or an offset are left out). Opens the stores read-only."""
    from rocksdict import AccessType, Rdict

    found: dict[int, int] = {}
    for partition in range(partitions):
        path = tables / f"{table}-{partition}.db"
        if not (path / "CURRENT").exists():
            continue
        db = Rdict(str(path), access_type=AccessType.read_only())
        try:
            raw = db.get(OFFSET_KEY)
        finally:
            db.close()
        if raw is not None:
            found[partition] = int(raw)
    return found


def stale(saved: Mapping[int, int], ends: Mapping[int, int]) -> dict[int, tuple[int, int]]:
    """Partitions whose saved offset is at or past the topic's end (the next offset to be written)."""
    return {p: (offset, ends.get(p, 0)) for p, offset in saved.items() if offset >= ends.get(p, 0)}


def changelog_ends(kafka_config: Mapping[str, Any], topic: str, partitions: list[int]) -> dict[int, int]:
    """The end offset of each partition; retried while a new topic's leaders settle (a topic just
    created answers "not leader" for a few seconds)."""
    admin = AdminClient(dict(kafka_config))
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        futures = admin.list_offsets(
            {TopicPartition(topic, p): OffsetSpec.latest() for p in partitions},
            isolation_level=IsolationLevel.READ_UNCOMMITTED,
            request_timeout=10,
        )
        try:
            return {tp.partition: f.result(timeout=10).offset for tp, f in futures.items()}
        except KafkaException as exc:
            error = exc.args[0]
            if not (isinstance(error, KafkaError) and error.retriable()) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def check_saved_state(
    kafka_config: Mapping[str, Any], home: Path, tables: Path, table: str, changelog: str, partitions: int
) -> None:
    saved = saved_offsets(tables, table, partitions)
    if not saved:
        return
    try:
        ends = changelog_ends(kafka_config, changelog, list(saved))
    except Exception as exc:  # KafkaException, a timeout: one line, not a traceback
        raise StaleState(
            f"cannot read the end offsets of {changelog} to check the run state saved in {home / 'processor'} "
            f"against them ({exc}); is Kafka reachable?"
        ) from exc
    behind = stale(saved, ends)
    if behind:
        p, (offset, end) = min(behind.items())
        folder = home / "processor"
        raise StaleState(
            f"the processor's saved run state in {folder} is ahead of Kafka: partition {p} of {changelog} ends "
            f"at offset {end}, but the state saved here holds it up to offset {offset} ({len(behind)} of "
            f"{len(saved)} partitions so). The topic was deleted or recreated (the local stack's data removed, "
            f"say), or this folder belongs to another Kafka cluster. Delete {folder} and start the processor "
            "again; it rebuilds the run state from the changelog topic."
        )
