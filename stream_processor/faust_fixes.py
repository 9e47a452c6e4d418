"""Workarounds for faults of faust-streaming 0.15.3 that stall or lose events (``install``).

**Stream partitions resumed before their seek.** A worker restarted on a kept RocksDB store
replays the run-state changelog when the store is behind it (a SIGKILL leaves the store's
recorded offset behind the changelog records it had sent). To replay, ``Recovery`` starts the
fetcher; when it is done, ``Recovery.on_recovery_completed`` resumes the stream partitions and
*then* seeks them to their committed offsets, awaiting a round trip per partition, and finally
empties the agents' queues (``flow_control.resume()``). The fetcher runs all along: records it
fetches between the resume and the end of the seek are put in the queues, their offsets recorded
as read, and then thrown away with the queues. What follows depends on the timing:

- the read offset ended past the committed offset: the records are fetched again from the
  committed offset and dropped as already read; their offsets are never acknowledged, so the
  partition's committed offset never moves again (the stall: lag that does not move, nothing
  logged);
- the fetch position ended past them: they are never fetched again, the next record looks like
  a gap, and Faust fills the gap (``_add_gap``) and commits across it (the loss: the events are
  on the topic, the group's offset is past them, nothing of them was processed).

Seen here in the fault suite (bench/faults.py): the processor-kill case stalled in 2 of 2 runs
with the log's "Restoring state from changelog topics..." followed by "Seek stream partitions to
committed offsets."; the stuck partition's committed offset sat below records whose effects were
in the graph. Upstream: faust-streaming#596 (open) describes the race; #216 / PR #217 fixed the
same order for workers without tables (``_resume_streams``, whose fetcher is not running yet).

The workaround: while ``on_recovery_completed`` runs, resuming the stream partitions is held back
until the flow resumes, after the seek and after the queues are emptied, so nothing is fetched
for them before their position and read offset are the committed offset.

**Gaps are checked.** Faust treats a jump in a partition's offsets as records that are not there
(transaction markers, compaction) and commits across them. A gap whose records are in fact on
the topic means they were fetched and dropped: the worker stops (``on_fatal``) before it can
commit across them, so the restarted worker reads them from the committed offset. A real gap is
logged, never silent.

**Commits start where the last one ended.** Faust commits the first run of consecutive
acknowledged offsets of a partition (``Consumer._new_offset``). It checks that this run starts at
the committed offset only when that offset is known and not 0 (a partition the group never
committed, or committed at 0, is not checked at all), and even then lets one offset be skipped.
So records fetched and dropped before any gap could show (read, then thrown away with the agents'
queues, the read offset already past them) were committed across as soon as a later record was
acknowledged: the loss the fault suite caught once in CI, a restarted worker's runs-topic records
1 to 6 of every partition committed and never merged. Here a commit never passes an offset that
was neither acknowledged nor a gap: when the acknowledged offsets start past the committed one,
nothing is committed, and if that lasts HOLE_GRACE_SECONDS (records still on their way through
the agents are acknowledged by then) the group's committed offset is asked of the broker and the
records in between are looked for on the topic. If they are there, they were dropped: the worker
seeks back to them and reads them again (or, should the seek fail, stops, for its successor to
read them). If not (transaction markers, compaction, retention), they are a gap, committed across.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import faust
from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import KafkaException, TopicPartition
from faust.tables.recovery import Recovery
from faust.transport.consumer import Consumer
from faust.utils.functional import consecutive_numbers

logger = logging.getLogger(__name__)

FAUST_VERSION = "0.15.3"  # the version these workarounds were written against and tested on
_installed = False
# How long the acknowledged offsets of a partition may start past its committed offset before the
# records in between are looked for on the topic (``_contiguous_commits``).
HOLE_GRACE_SECONDS = 30.0
_ORIGINAL_ON_RECOVERY_COMPLETED = Recovery.on_recovery_completed


class DroppedRecords(RuntimeError):
    """Records on a topic were skipped by the consumer: committing across them would lose them."""


def install(kafka: Mapping[str, Any], on_dropped: Callable[[BaseException], None]) -> None:
    """Patch Faust (once per process). ``kafka``: the confluent-kafka configuration of the checks'
    own consumers (``Settings.kafka_client_config()``). ``on_dropped`` is called (and must not
    return) when a gap turns out to hide records that are on the topic."""
    global _installed
    if faust.__version__ != FAUST_VERSION:
        raise RuntimeError(
            f"stream_processor.faust_fixes works around faults of faust-streaming {FAUST_VERSION}; "
            f"{faust.__version__} is installed. Check whether they are fixed there, then update this module."
        )
    if _installed:
        return
    _installed = True
    Recovery.on_recovery_completed = _seek_before_resuming(Recovery.on_recovery_completed)  # type: ignore[method-assign]
    Consumer._add_gap = _checked_gaps(kafka, on_dropped)  # type: ignore[method-assign]
    Consumer._new_offset = _contiguous_commits(kafka, on_dropped)  # type: ignore[method-assign]


def _seek_before_resuming(original: Any) -> Any:
    async def on_recovery_completed(self: Recovery, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        held: set[Any] = set()

        def hold(tps: Any) -> None:
            held.update(tps)

        def resume_flow() -> None:
            # Right after the seek and the emptying of the queues, with no await in between.
            if held:
                logger.info("stream partitions resumed after their seek to the committed offsets: %d", len(held))
                type(consumer).resume_partitions(consumer, set(held))
                held.clear()
            type(consumer).resume_flow(consumer)

        # Instance attributes shadow the methods for the length of this call only.
        consumer.resume_partitions = hold  # type: ignore[method-assign]
        consumer.resume_flow = resume_flow  # type: ignore[method-assign]
        try:
            await original(self, generation_id)
        finally:
            del consumer.resume_partitions
            del consumer.resume_flow
        if held:  # the call ended before the flow resumed (another rebalance): Faust starts over
            logger.info("recovery ended before resuming %d stream partitions; a new rebalance resumes them", len(held))

    return on_recovery_completed


def _checked_gaps(kafka: Mapping[str, Any], on_dropped: Callable[[BaseException], None]) -> Any:
    """``Consumer._add_gap``, checked, registering only what was checked (Faust's own also counts
    the record just fetched as part of the gap, before it is processed, and starts the gap one
    past the committed offset)."""

    async def _add_gap(self: Consumer, tp: Any, offset_from: int, offset_to: int) -> None:
        # Faust calls this with offset_from = last read + 1 and offset_to = the record just fetched.
        try:
            found = await asyncio.get_running_loop().run_in_executor(
                None, _records_between, kafka, tp.topic, tp.partition, offset_from, offset_to
            )
        except DroppedRecords as exc:
            on_dropped(exc)
            return
        if found:
            on_dropped(
                DroppedRecords(
                    f"{tp.topic}[{tp.partition}]: the consumer skipped from offset {offset_from - 1} to {offset_to}, "
                    f"but {len(found)} record(s) in between are on the topic (the first at offset {found[0]}); "
                    "committing across them would lose them"
                )
            )
            return
        logger.warning(
            "gap topic=%s partition=%s offsets=%d..%d: no records there (transaction markers or compaction); "
            "committing across it",
            tp.topic,
            tp.partition,
            offset_from,
            offset_to - 1,
        )
        # The checked offsets, and nothing past them: the record at offset_to counts once processed.
        begin = max(offset_from, self._committed_offset.get(tp) or 0)
        if begin < offset_to:
            self._gap[tp].addi(begin, offset_to)

    return _add_gap


def _contiguous_commits(kafka: Mapping[str, Any], on_dropped: Callable[[BaseException], None]) -> Any:
    """``Consumer._new_offset``: the offset to commit for a partition, or None (module docs)."""
    checking: set[tuple[int, Any]] = set()  # (consumer, partition) whose hole is being looked at
    holes: dict[tuple[int, Any], tuple[int, float]] = {}  # (consumer, partition) -> (hole start, first seen)
    tasks: set[asyncio.Task[None]] = set()

    def _new_offset(self: Consumer, tp: Any) -> int | None:
        key = (id(self), tp)
        acked: list[int] = self._acked[tp]
        if tp not in self.assignment():
            # Late acknowledgements of a partition given away (its state was cleared at the
            # revoke): its new owner commits it.
            acked.clear()
            self._acked_index[tp].clear()
            holes.pop(key, None)
            return None
        if not acked:
            return None
        gaps = self._gap[tp]
        if gaps:
            # Gaps up to the last acknowledged offset count as acknowledged (as in Faust).
            top = max(acked)
            found = sorted(gaps.overlap(0, top + 1), key=lambda interval: interval.begin)
            if found:
                filled = [offset for interval in found for offset in range(interval.begin, interval.end)]
                acked.extend(filled)
                gaps.chop(0, max(filled[-1] + 1, top + 1))
        start = self._committed_offset.get(tp) or 0  # where the group stands: the next offset to read
        stale = {offset for offset in acked if offset < start}
        acked[:] = sorted(set(acked) - stale)
        self._acked_index[tp].difference_update(stale)
        if not acked:
            return None
        if acked[0] > start:
            # Records before the first acknowledged one may still be on their way through the
            # agents (a slow batch): look only at a hole that stays.
            seen = holes.get(key)
            if seen is None or seen[0] != start:
                holes[key] = seen = (start, time.monotonic())
            if time.monotonic() - seen[1] >= HOLE_GRACE_SECONDS:
                _look_for_dropped(self, tp, start, acked[0])
            return None
        holes.pop(key, None)
        batch = next(consecutive_numbers(acked))
        acked[: len(batch)] = []
        self._acked_index[tp].difference_update(batch)
        return int(batch[-1]) + 1

    def _look_for_dropped(self: Consumer, tp: Any, start: int, end: int) -> None:
        key = (id(self), tp)
        if key in checking:
            return
        checking.add(key)

        async def look() -> None:
            loop = asyncio.get_running_loop()
            group = str(self.app.conf.id)
            try:
                # The group's own word on where it stands: this worker's bookkeeping can miss a
                # commit another worker made before the partition came here.
                committed = await loop.run_in_executor(None, _group_committed, kafka, group, tp.topic, tp.partition)
                stands = max(start, committed or 0)
                found = []
                if stands < end:
                    found = await loop.run_in_executor(
                        None, _records_between, kafka, tp.topic, tp.partition, stands, end
                    )
            except (DroppedRecords, KafkaException) as exc:
                # Nothing known: the hole stays uncommitted and is looked at again after the grace
                # (a partition that stays stuck makes the stall watch restart the worker).
                logger.warning(
                    "could not look at a hole in %s[%s] (%s); looking again later", tp.topic, tp.partition, exc
                )
                holes[key] = (start, time.monotonic())
                return
            finally:
                checking.discard(key)
            if tp not in self.assignment():
                return  # given away meanwhile: its new owner commits it
            if stands > start:
                current = self._committed_offset.get(tp) or 0
                self._committed_offset[tp] = max(stands, current)
            if found:
                what = (
                    f"{tp.topic}[{tp.partition}]: offsets from {end} on were acknowledged while the group stands "
                    f"at {stands}, and {len(found)} record(s) in between are on the topic (the first at offset "
                    f"{found[0]}) but were never acknowledged"
                )
                try:
                    # Read them again: they and what follows are processed anew (the merge takes a
                    # redelivery as one), and the commit moves once they are acknowledged.
                    await self.seek(tp, stands)
                except Exception as exc:  # noqa: BLE001  # then only a restart reads them again
                    on_dropped(DroppedRecords(f"{what}; seeking back to them failed ({exc}), so the worker stops"))
                    return
                logger.warning("%s: read again from offset %d", what, stands)
                holes[key] = (start, time.monotonic())
                return
            if stands < end:
                logger.warning(
                    "gap topic=%s partition=%s offsets=%d..%d: no records there (transaction markers or compaction); "
                    "committing across it",
                    tp.topic,
                    tp.partition,
                    stands,
                    end - 1,
                )
                self._gap[tp].addi(stands, end)

        task = asyncio.get_running_loop().create_task(look())
        tasks.add(task)
        task.add_done_callback(_done(tasks))

    return _new_offset


def _done(tasks: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def forget(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("looking at a hole failed", exc_info=task.exception())

    return forget


def _group_committed(
    kafka: Mapping[str, Any], group: str, topic: str, partition: int, timeout: float = 10.0
) -> int | None:
    """The offset ``group`` committed for ``topic[partition]`` (None: none), asked of the broker by a
    consumer that does not join the group. Raises KafkaException when the broker does not say."""
    consumer = KafkaConsumer({**kafka, "group.id": group, "enable.auto.commit": False})
    try:
        (found,) = consumer.committed([TopicPartition(topic, partition)], timeout=timeout)
    finally:
        consumer.close()
    if found.error is not None:
        raise KafkaException(found.error)
    return found.offset if found.offset >= 0 else None


def _records_between(
    kafka: Mapping[str, Any], topic: str, partition: int, start: int, end: int, timeout: float = 10.0
) -> list[int]:
    """Offsets of the records of ``topic[partition]`` in [start, end), read with a consumer of its
    own (transaction markers and compacted records are not returned). Raises DroppedRecords when
    it cannot read as far as ``end`` (the record after the gap): nothing then says the gap is real."""
    consumer = KafkaConsumer(
        {
            **kafka,
            "group.id": "lineage-gap-check",
            "enable.auto.commit": False,
            # A start that retention deleted begins at the first record kept: then the gap is real.
            "auto.offset.reset": "earliest",
            # What Faust reads (aiokafka's default outside exactly-once): an open transaction does
            # not hide records from the check.
            "isolation.level": "read_uncommitted",
        }
    )
    found: list[int] = []
    try:
        consumer.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            offset = msg.offset() or 0
            if offset >= end:
                return found
            found.append(offset)
    finally:
        consumer.close()
    raise DroppedRecords(
        f"{topic}[{partition}]: could not read offsets {start}..{end} within {timeout:.0f} s to check a gap"
    )
