"""The workarounds for faust-streaming's recovery race, on Faust's own code with fake parts.

``Recovery.on_recovery_completed`` (Faust's, patched by stream_processor.faust_fixes) is run with
a fake consumer that records what is done to it. Unpatched, Faust resumes the stream partitions
and then awaits their seek, so that a running fetcher hands the agents records from before the
seek, which the following ``flow_control.resume()`` throws away (faust-streaming#596).
"""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import pytest
from faust.tables.recovery import Recovery
from faust.types import TP

from stream_processor import faust_fixes

STREAM, CHANGELOG = TP("lineage.runs", 1), TP("group-runs-changelog", 1)


class FakeConsumer:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.active: set[TP] = set()

    def assignment(self) -> set[TP]:
        return {STREAM, CHANGELOG}

    def resume_partitions(self, tps: Any) -> None:
        self.calls.append(f"resume_partitions {sorted(t.topic for t in tps)}")
        self.active |= set(tps)

    async def perform_seek(self) -> None:
        self.calls.append("seek starts")
        # While the seek awaits the broker, a running fetcher fetches for every active partition.
        await asyncio.sleep(0)
        self.calls.append(f"fetcher could fetch {sorted(t.topic for t in self.active)}")
        self.calls.append("seek done")

    def resume_flow(self) -> None:
        self.calls.append("resume_flow")


def recovery(calls: list[str]) -> Any:
    self = MagicMock()
    consumer = FakeConsumer(calls)
    self.app.consumer = consumer
    self.app.consumer_generation_id = 0
    self.app.on_rebalance_complete.send = AsyncMock()
    self.app._fetcher.maybe_start = AsyncMock()
    self.app.flow_control.resume = lambda: calls.append("queues emptied")
    self.tables.values.return_value = []
    self._is_changelog_tp = lambda tp: tp == CHANGELOG

    async def wait(coro: Any, timeout: float | None = None) -> Any:
        return await coro

    self._wait = wait
    return self


def run(method: Any) -> list[str]:
    calls: list[str] = []
    asyncio.run(method(recovery(calls), 0))
    return calls


def test_unpatched_faust_resumes_stream_partitions_before_their_seek() -> None:
    original = faust_fixes._ORIGINAL_ON_RECOVERY_COMPLETED
    calls = run(original)
    assert calls.index("resume_partitions ['lineage.runs']") < calls.index("seek done")
    assert "fetcher could fetch ['lineage.runs']" in calls  # records from before the seek


def test_patched_stream_partitions_are_resumed_after_the_seek_and_the_emptying_of_the_queues() -> None:
    faust_fixes.install({"bootstrap.servers": "127.0.0.1:9"}, lambda exc: pytest.fail(str(exc)))
    calls = run(Recovery.on_recovery_completed)
    assert calls == [
        "seek starts",
        "fetcher could fetch []",  # nothing for the stream partitions while their seek runs
        "seek done",
        "queues emptied",
        "resume_partitions ['lineage.runs']",
        "resume_flow",
    ]


def test_a_gap_whose_records_are_on_the_topic_stops_the_worker_and_a_real_one_is_committed_across(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dropped: list[BaseException] = []

    checked = faust_fixes._checked_gaps("127.0.0.1:9", dropped.append)
    on_topic = {178: [178, 179], 300: [], 10: []}  # where each gap starts -> the records there
    monkeypatch.setattr(faust_fixes, "_records_between", lambda b, t, p, start, end: on_topic[start])

    offsets = Offsets(170, [])
    asyncio.run(checked(offsets, STREAM, 178, 214))
    assert not offsets._gap[STREAM] and len(dropped) == 1
    assert "from offset 177 to 214, but 2 record(s) in between are on the topic (the first at offset 178)" in str(
        dropped[0]
    )
    asyncio.run(checked(offsets, STREAM, 300, 310))  # transaction markers or compaction
    # The gap is what was checked: 310, the record just fetched, counts once it is processed.
    assert sorted((i.begin, i.end) for i in offsets._gap[STREAM]) == [(300, 310)] and len(dropped) == 1
    # Caught up at 10 (committed 10, read 9), a marker at 10: Faust would start the gap at 11.
    caught_up = Offsets(10, [])
    asyncio.run(checked(caught_up, STREAM, 10, 11))
    assert [(i.begin, i.end) for i in caught_up._gap[STREAM]] == [(10, 11)]
    caught_up._acked[STREAM] += [11, 12]
    assert faust_fixes._contiguous_commits("127.0.0.1:9", dropped.append)(caught_up, STREAM) == 13


class Offsets:
    """The bookkeeping of Faust's Consumer that ``_new_offset`` reads and changes."""

    def __init__(self, committed: int | None, acked: list[int]) -> None:
        from collections import defaultdict

        from intervaltree import IntervalTree

        self._committed_offset: dict[TP, int | None] = defaultdict(lambda: None, {STREAM: committed})
        self._acked: dict[TP, list[int]] = defaultdict(list, {STREAM: list(acked)})
        self._acked_index: dict[TP, set[int]] = defaultdict(set, {STREAM: set(acked)})
        self._gap: dict[TP, Any] = defaultdict(IntervalTree)
        self.app = MagicMock()
        self.app.conf.id = "lineage-processor"
        self.assigned = {STREAM}
        self.seeks: list[int] = []

    def assignment(self) -> set[TP]:
        return self.assigned

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append(offset)


def commits(
    monkeypatch: pytest.MonkeyPatch,
    offsets: Offsets,
    on_topic: list[int] | None = None,
    grace: float = 0.0,
    group_committed: int | None = None,
) -> tuple[list[int | None], list[BaseException], list[tuple[int, int]]]:
    """What two commit rounds (a moment apart) would commit; what was found dropped; what was
    looked at, with holes looked at after ``grace`` seconds and the group's committed offset as
    the broker says."""
    dropped: list[BaseException] = []
    looked: list[tuple[int, int]] = []
    monkeypatch.setattr(faust_fixes, "HOLE_GRACE_SECONDS", grace)
    monkeypatch.setattr(faust_fixes, "_group_committed", lambda b, group, t, p: group_committed)

    def records_between(bootstrap: str, topic: str, partition: int, start: int, end: int) -> list[int]:
        looked.append((start, end))
        return [o for o in (on_topic or []) if start <= o < end]

    monkeypatch.setattr(faust_fixes, "_records_between", records_between)
    new_offset = faust_fixes._contiguous_commits("127.0.0.1:9", dropped.append)

    async def rounds() -> list[int | None]:
        first = new_offset(offsets, STREAM)
        await asyncio.sleep(0.05)  # the look at the topic, in a thread
        return [first, new_offset(offsets, STREAM)]

    return asyncio.run(rounds()), dropped, looked


def test_a_commit_takes_the_acknowledged_offsets_that_follow_the_committed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert commits(monkeypatch, Offsets(31, [31, 32, 33, 35]))[:2] == ([34, None], [])
    # A partition the group never committed starts at 0; acknowledgements below the committed offset are old news.
    assert commits(monkeypatch, Offsets(None, [0, 1, 2]))[:2] == ([3, None], [])
    assert commits(monkeypatch, Offsets(10, [8, 9, 10]))[:2] == ([11, None], [])


def test_records_never_acknowledged_before_acknowledged_ones_are_not_committed_across_but_read_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # What was lost once: a restarted worker's first records read and dropped, 7 on acknowledged.
    # Faust committed 9 here (it checks nothing when the committed offset is unknown or 0).
    offsets = Offsets(None, [7, 8])
    done, dropped, looked = commits(monkeypatch, offsets, on_topic=list(range(20)))
    assert (done, dropped, looked[0], offsets.seeks[0]) == ([None, None], [], (0, 7), 0)
    assert "7 record(s) in between are on the topic (the first at offset 0)" in caplog.text
    # Read again and acknowledged, they are committed with the rest.
    offsets._acked[STREAM] += list(range(7))
    assert commits(monkeypatch, offsets, on_topic=list(range(20)))[0] == [9, None]
    # Faust lets one offset be skipped: committed 31, acknowledged from 32 on.
    skipped = Offsets(31, [32, 33])
    assert commits(monkeypatch, skipped, on_topic=[31, 32, 33])[:2] == ([None, None], [])
    assert skipped.seeks[0] == 31


def test_a_worker_that_cannot_seek_back_to_dropped_records_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    offsets = Offsets(1, [7, 8])

    async def cannot(tp: TP, offset: int) -> None:
        raise RuntimeError("partition not assigned")

    offsets.seek = cannot  # type: ignore[method-assign]
    done, dropped, _ = commits(monkeypatch, offsets, on_topic=list(range(20)))
    assert done == [None, None] and "(the first at offset 1)" in str(dropped[0])
    assert "seeking back to them failed (partition not assigned)" in str(dropped[0])


def test_a_hole_with_no_records_in_it_is_a_gap_and_committed_across(monkeypatch: pytest.MonkeyPatch) -> None:
    # A transaction marker at 31 (the committed offset), or records retention removed.
    done, dropped, looked = commits(monkeypatch, Offsets(31, [32, 33]), on_topic=[32, 33])
    assert (done, dropped, looked) == ([None, 34], [], [(31, 32)])


def test_a_hole_is_looked_at_only_once_it_has_lasted_and_acknowledgements_that_fill_it_are_committed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Late acknowledgements (a rebalance, a slow batch): 31 is still on its way when 32 is acknowledged.
    offsets = Offsets(31, [32, 33])
    done, dropped, looked = commits(monkeypatch, offsets, on_topic=[31, 32, 33], grace=60)
    assert (done, dropped, looked) == ([None, None], [], [])
    offsets._acked[STREAM].append(31)
    assert commits(monkeypatch, offsets, on_topic=[31, 32, 33], grace=60)[:2] == ([34, None], [])


def test_a_hole_behind_what_the_group_committed_elsewhere_is_no_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    # Seen with two workers: the partition came here after the other committed 2150, and this
    # worker's bookkeeping never learnt it.
    done, dropped, looked = commits(monkeypatch, Offsets(None, [2150, 2151]), on_topic=[], group_committed=2150)
    assert (done, dropped, looked) == ([None, 2152], [], [])
    # Part of the hole behind it: only the rest is looked at.
    behind = Offsets(None, [2150])
    done, dropped, looked = commits(monkeypatch, behind, on_topic=[2140], group_committed=2100)
    assert looked[0] == (2100, 2150) and behind.seeks[0] == 2100 and dropped == []


def test_late_acknowledgements_of_a_partition_given_away_are_left_to_its_new_owner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The revoke cleared this worker's bookkeeping; acknowledgements of batches still running came after.
    offsets = Offsets(None, [151, 152])
    offsets.assigned = set()
    done, dropped, looked = commits(monkeypatch, offsets, on_topic=list(range(200)), group_committed=100)
    assert (done, dropped, looked) == ([None, None], [], [])
    assert offsets._acked[STREAM] == [] and not offsets._acked_index[STREAM]


def test_a_hole_that_cannot_be_looked_at_stays_uncommitted_without_stopping_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_broker(b: str, group: str, t: str, p: int) -> int | None:
        raise faust_fixes.KafkaException("broker down")

    offsets = Offsets(1, [7, 8])
    monkeypatch.setattr(faust_fixes, "_records_between", lambda *a: pytest.fail("not looked at"))
    monkeypatch.setattr(faust_fixes, "HOLE_GRACE_SECONDS", 0)
    monkeypatch.setattr(faust_fixes, "_group_committed", no_broker)
    dropped: list[BaseException] = []
    new_offset = faust_fixes._contiguous_commits("127.0.0.1:9", dropped.append)

    async def rounds() -> list[int | None]:
        first = new_offset(offsets, STREAM)
        await asyncio.sleep(0.05)
        return [first, new_offset(offsets, STREAM)]

    assert asyncio.run(rounds()) == [None, None] and dropped == []


def test_the_checks_read_what_faust_reads_open_transactions_included(monkeypatch: pytest.MonkeyPatch) -> None:
    configs: list[dict[str, Any]] = []

    class Recording:
        def __init__(self, config: dict[str, Any]) -> None:
            configs.append(config)

        def assign(self, tps: Any) -> None: ...

        def poll(self, timeout: float) -> Any:
            return None

        def close(self) -> None: ...

    monkeypatch.setattr(faust_fixes, "KafkaConsumer", Recording)
    with pytest.raises(faust_fixes.DroppedRecords):
        faust_fixes._records_between({"bootstrap.servers": "127.0.0.1:9"}, "t", 0, 0, 1, timeout=0.01)
    assert configs[0]["isolation.level"] == "read_uncommitted" and configs[0]["enable.auto.commit"] is False
