"""The Faust agents, driven through ``agent.test_context()`` with a memory store (no Kafka)."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock

import pytest
from aiokafka.partitioner import DefaultPartitioner
from faust.serializers import codecs

from lineage.mutations import EdgeUpsert, NodeUpsert, decode_change_set
from lineage.naming import run_key
from lineage.processing import stored_run
from lineage.routed_batch import Source, pack, unpack
from lineage.settings import Settings
from stream_processor import app as app_module
from stream_processor.app import EXIT_UNPROCESSED, Processor, create_app


class Stopped(Exception):
    """Raised by the test's ``on_fatal`` where the real one ends the process."""


# (exception, event) for each call of the app's on_fatal.
fatal_calls: list[tuple[BaseException, Any]] = []


def record_fatal(exc: BaseException, event: Any) -> Any:
    fatal_calls.append((exc, event))
    raise Stopped


FACET = {"_producer": "https://example.test/producer", "_schemaURL": "https://example.test/facet.json"}
EVENT = {
    "eventTime": "2026-11-20T10:00:00Z",
    "run": {"runId": "7f1b1d8e-5a4f-4d3a-9a43-0c2a5d6c1e01"},
    "job": {"namespace": "ns", "name": "job"},
    "inputs": [{"namespace": "db", "name": "src"}],
    "outputs": [{"namespace": "db", "name": "dst"}],
    "producer": "https://example.test/producer",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
}


def raw(event_type: str, time: str) -> bytes:
    return json.dumps(EVENT | {"eventType": event_type, "eventTime": time}).encode()


@pytest.fixture
def processor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Processor]:
    # The app and the test share one loop, closed again when the test ends.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    fatal_calls.clear()
    # One event per merge batch, so that each ``agent.put`` returns once its event is processed;
    # test_a_batch_is_folded_per_run takes several.
    monkeypatch.setattr(app_module, "MERGE_BATCH", 1)
    proc = create_app(Settings(home=tmp_path, processor_group=f"unit-{uuid.uuid4().hex[:8]}"), on_fatal=record_fatal)
    proc.app.finalize()
    proc.app.conf.store = "memory://"
    for topic in (proc.dlq, proc.runs, proc.graph):
        monkeypatch.setattr(topic, "send", AsyncMock())
    # Table writes also go to a changelog topic; with no broker, pretend they were sent.
    monkeypatch.setattr(
        proc.run_table,
        "send_changelog",
        lambda partition, *args, **kwargs: SimpleNamespace(message=SimpleNamespace(partition=partition)),
    )
    yield proc
    # The never-started consumer thread made a loop of its own; close it with ours.
    consumer = getattr(proc.app, "_consumer", None)
    thread = getattr(consumer, "_thread", None)
    if thread is not None:
        thread.thread_loop.close()
    loop.close()
    asyncio.set_event_loop(None)


async def put(agent: Any, value: bytes, **kwargs: Any) -> Any:
    """Put an event on the merge agent and wait until it is processed: the agent acknowledges a
    batch's events once it is done with them (``agent.put`` returns before that, the merge taking
    events in batches)."""
    event = await agent.put(value, wait=False, **kwargs)
    for _ in range(500):
        if event.message.acked or agent._crash_reason:
            break
        await asyncio.sleep(0.005)
    if agent._crash_reason:
        raise agent._crash_reason
    assert event.message.acked, "the merge agent did not process the event in 2.5 s"
    return event


def sent(topic: Any) -> list[tuple[bytes, bytes]]:
    return [(call.kwargs["key"], call.kwargs["value"]) for call in topic.send.await_args_list]


def test_route_rekeys_valid_events_by_run_id_and_dead_letters_the_rest(processor: Processor) -> None:
    processor.app.loop.run_until_complete(
        _test_route_rekeys_valid_events_by_run_id_and_dead_letters_the_rest(processor)
    )


async def _test_route_rekeys_valid_events_by_run_id_and_dead_letters_the_rest(processor: Processor) -> None:
    async with processor.route.test_context() as agent:
        await agent.put(raw("START", "2026-11-20T10:00:00Z"), key=b"run:ns/job")
        await agent.put(b"{oops", key=b"k1")
        await agent.put(json.dumps(EVENT | {"run": {"runId": [12345]}}).encode(), key=b"k2")
        await agent.put(raw("COMPLETE", "2026-11-20T10:05:00Z"), key=None)
        # A run id of text is keyed by the UUID derived from it (lineage.naming.run_key).
        await agent.put(json.dumps(EVENT | {"run": {"runId": "not-a-uuid"}}).encode(), key=b"k3")

    run_id, text_id = EVENT["run"]["runId"].encode(), str(run_key("not-a-uuid")).encode()
    # One message per runs partition per batch, placed where Kafka's own partitioner puts the key.
    calls = processor.runs.send.await_args_list  # type: ignore[attr-defined]  # an AsyncMock
    forwarded = {call.kwargs["partition"]: unpack(call.kwargs["value"]) for call in calls}
    assert len(forwarded) == len(calls)
    every = list(range(processor.partitions.runs))
    for partition, routed in forwarded.items():
        assert {DefaultPartitioner()(r.key, every, every) for r in routed} == {partition}
    routed = sorted((r for rs in forwarded.values() for r in rs), key=lambda r: r.source.offset)
    assert [r.key for r in routed] == [run_id, run_id, text_id]
    # Each event as it was sent, with where it was read (for the merge's dead letters).
    assert [r.source for r in routed] == [Source("openlineage.events", 0, offset) for offset in (0, 3, 4)]
    assert json.loads(routed[1].value)["eventType"] == "COMPLETE"
    assert routed[2].value == json.dumps(EVENT | {"run": {"runId": "not-a-uuid"}}).encode()  # as sent
    assert processor.leniency_log.totals == {"non-uuid-run-id": 1}

    letters = [json.loads(value) for _, value in sent(processor.dlq)]
    assert [letter["reason"] for letter in letters] == ["not-json", "bad-run-id"]
    assert base64.b64decode(letters[0]["raw"]) == b"{oops"
    assert "run.runId" in letters[1]["message"]
    assert [key for key, _ in sent(processor.dlq)] == [b"k1", b"k2"]


def test_merge_emits_the_merged_run_whatever_the_order(processor: Processor) -> None:
    processor.app.loop.run_until_complete(_test_merge_emits_the_merged_run_whatever_the_order(processor))


async def _test_merge_emits_the_merged_run_whatever_the_order(processor: Processor) -> None:
    run_id = EVENT["run"]["runId"].encode()
    async with processor.merge.test_context() as agent:
        await put(agent, raw("COMPLETE", "2026-11-20T10:05:00Z"), key=run_id)
        await put(agent, raw("START", "2026-11-20T10:00:00Z"), key=run_id)

    mutations = sent_mutations(processor)
    runs = [m for m in mutations if m.op == "node" and m.node.label == "Run"]
    assert [r.props["state"] for r in runs] == ["COMPLETED", "COMPLETED"]  # a late START never reopens
    assert runs[-1].props["startedAt"] == "2026-11-20T10:00:00+00:00"
    assert runs[-1].props["endedAt"] == "2026-11-20T10:05:00+00:00"
    stored = processor.run_table[run_id]
    assert isinstance(stored, bytes)  # stored as the core encoded it
    assert json.loads(stored)["run"]["state"] == "COMPLETED"
    assert json.loads(stored)["offset"] == 1  # the offset of the last event that changed the run


def record_changelog(processor: Processor, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bytes]]:
    """The (partition, key) of each state the table writes to its changelog, as they are written."""
    changelog: list[tuple[int, bytes]] = []

    def send_changelog(partition: int, key: bytes, *args: Any, **kwargs: Any) -> Any:
        changelog.append((partition, key))
        return SimpleNamespace(message=SimpleNamespace(partition=partition))

    monkeypatch.setattr(processor.run_table, "send_changelog", send_changelog)
    return changelog


def test_a_batch_is_folded_per_run(processor: Processor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "MERGE_BATCH", 5)
    processor.app.loop.run_until_complete(_test_a_batch_is_folded_per_run(processor, monkeypatch))


async def _test_a_batch_is_folded_per_run(processor: Processor, monkeypatch: pytest.MonkeyPatch) -> None:
    changelog = record_changelog(processor, monkeypatch)
    one, other = EVENT["run"]["runId"].encode(), str(uuid.UUID(int=7, version=4)).encode()
    async with processor.merge.test_context() as agent:
        for value, key, partition in [
            (raw("START", "2026-11-20T10:00:00Z"), one, 2),
            (json.dumps(EVENT | {"eventType": "START", "run": {"runId": other.decode()}}).encode(), other, 5),
            (raw("RUNNING", "2026-11-20T10:01:00Z"), one, 2),
            (b"{oops", one, 2),
            (raw("COMPLETE", "2026-11-20T10:05:00Z"), one, 2),  # the fifth fills the batch
        ]:
            await agent.put(value, key=key, partition=partition, wait=False)
        for _ in range(100):
            if len(graph_messages(processor)) >= 2:
                break
            await asyncio.sleep(0.02)
    # One stored state per run, filed under its own partition; one change set per partition.
    assert [key for key, _ in graph_messages(processor)] == [b"runs-2", b"runs-5"]
    assert changelog == [(2, one), (5, other)]
    runs = [m for m in sent_mutations(processor) if m.op == "node" and m.node.label == "Run"]
    assert [r.props["state"] for r in runs] == ["COMPLETED", "RUNNING"]
    assert stored_run(processor.run_table[one]).started_at is not None
    # The event at fault is dead-lettered alone; the others of its run were applied.
    assert [json.loads(v)["reason"] for _, v in sent(processor.dlq)] == ["not-json"]
    assert json.loads(sent(processor.dlq)[0][1])["source"]["offset"] == 3


def graph_messages(processor: Processor) -> list[tuple[bytes, bytes]]:
    return sent(processor.graph)


def sent_mutations(processor: Processor, skip_messages: int = 0) -> list[NodeUpsert | EdgeUpsert]:
    """The mutations of the change sets sent to the graph topic (after the first few messages)."""
    out: list[NodeUpsert | EdgeUpsert] = []
    for _, value in graph_messages(processor)[skip_messages:]:
        mutations, problems = decode_change_set(value)
        assert not problems
        out += mutations
    return out


def test_duplicates_emit_nothing_and_a_redelivery_emits_the_full_state(processor: Processor) -> None:
    processor.app.loop.run_until_complete(
        _test_duplicates_emit_nothing_and_a_redelivery_emits_the_full_state(processor)
    )


async def _test_duplicates_emit_nothing_and_a_redelivery_emits_the_full_state(processor: Processor) -> None:
    run_id = EVENT["run"]["runId"].encode()
    start = raw("START", "2026-11-20T10:00:00Z")
    async with processor.merge.test_context() as agent:
        await put(agent, start, key=run_id)  # offset 0
        first = list(graph_messages(processor))
        assert [key for key, _ in first] == [b"runs-0"]  # one change set, keyed by the runs partition
        full_state = len(sent_mutations(processor))
        await put(agent, start, key=run_id)  # offset 1: the integration sent it twice
        await put(agent, start, key=run_id)  # offset 2: and a replay sent it again
        assert graph_messages(processor) == first

        complete = raw("COMPLETE", "2026-11-20T10:05:00Z")
        await put(agent, complete, key=run_id)  # offset 3
        changed = sent_mutations(processor, len(first))
        # Only what COMPLETE changed: the run's state, its edges (no longer provisional) and its
        # contribution to the job's aggregated edges (lastSeen moved).
        assert {(m.op, m.node.label if m.op == "node" else m.type) for m in changed} == {
            ("node", "Run"),
            ("edge", "READ"),
            ("edge", "WROTE"),
            ("usage", "CONSUMES"),
            ("usage", "PRODUCES"),
        }
        before = len(graph_messages(processor))
        agent.sent_offset = 3  # Kafka delivers offset 3 again (a crash before the commit)
        await put(agent, complete, key=run_id)
        again = sent_mutations(processor, before)
        # The whole run, sent even though this worker sent the same upserts before.
        assert len(again) == full_state
        assert {(m.op, m.node.label if m.op == "node" else m.type) for m in again} >= {
            ("node", "Job"),
            ("node", "Dataset"),
        }


def test_a_node_many_runs_share_is_sent_once_until_partitions_are_revoked(processor: Processor) -> None:
    processor.app.loop.run_until_complete(
        _test_a_node_many_runs_share_is_sent_once_until_partitions_are_revoked(processor)
    )


async def _test_a_node_many_runs_share_is_sent_once_until_partitions_are_revoked(processor: Processor) -> None:
    def dataset_upserts() -> int:
        return sum(
            1 for m in sent_mutations(processor) if isinstance(m, NodeUpsert) and m.node.key.get("name") == "src"
        )

    async def run(i: int) -> None:
        run_id = str(uuid.UUID(int=i, version=4))
        await put(
            agent, json.dumps(EVENT | {"eventType": "START", "run": {"runId": run_id}}).encode(), key=run_id.encode()
        )

    async with processor.merge.test_context() as agent:
        for i in range(5):
            await run(i)
        assert dataset_upserts() == 1
        # Each run sent its own node and edges: Run, INSTANCE_OF, READ, WROTE.
        assert len([m for m in sent_mutations(processor) if m.message_key().startswith("Run:")]) == 5 * 4
        await processor.app.on_partitions_revoked.send(set())
        await run(5)
        assert dataset_upserts() == 2


def test_merge_dead_letters_what_it_cannot_process_and_carries_on(processor: Processor) -> None:
    processor.app.loop.run_until_complete(_test_merge_dead_letters_what_it_cannot_process_and_carries_on(processor))


async def _test_merge_dead_letters_what_it_cannot_process_and_carries_on(processor: Processor) -> None:
    run_id = EVENT["run"]["runId"].encode()
    async with processor.merge.test_context() as agent:
        await put(agent, b"[]", key=run_id)  # only a foreign producer could put this on the runs topic
        await put(agent, raw("START", "2026-11-20T10:00:00Z"), key=run_id)

    assert [json.loads(v)["reason"] for _, v in sent(processor.dlq)] == ["not-an-object"]
    assert any(m.op == "node" for m in sent_mutations(processor))


def test_an_event_whose_state_cannot_be_stored_stops_the_worker_unacknowledged(
    processor: Processor, monkeypatch: pytest.MonkeyPatch
) -> None:
    processor.app.loop.run_until_complete(
        _test_an_event_whose_state_cannot_be_stored_stops_the_worker_unacknowledged(processor, monkeypatch)
    )


async def _test_an_event_whose_state_cannot_be_stored_stops_the_worker_unacknowledged(
    processor: Processor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What Faust raises when the changelog looks unlike the runs topic (see stream_processor.worker).
    refused = RuntimeError("changelog topic has 0 partitions")

    def send_changelog(*args: Any, **kwargs: Any) -> None:
        raise refused

    monkeypatch.setattr(processor.run_table, "send_changelog", send_changelog)
    run_id = EVENT["run"]["runId"].encode()
    async with processor.merge.test_context() as agent:
        with pytest.raises(Stopped):
            await put(agent, raw("START", "2026-11-20T10:00:00Z"), key=run_id)
    [(exc, event)] = fatal_calls
    assert exc is refused
    assert event.key == run_id
    assert sent(processor.graph) == []  # nothing passed on for a run whose state was not kept
    assert sent(processor.dlq) == []  # and the event is not the one at fault


def test_an_event_that_cannot_be_forwarded_stops_the_worker_unacknowledged(processor: Processor) -> None:
    processor.app.loop.run_until_complete(
        _test_an_event_that_cannot_be_forwarded_stops_the_worker_unacknowledged(processor)
    )


async def _test_an_event_that_cannot_be_forwarded_stops_the_worker_unacknowledged(processor: Processor) -> None:
    refused = RuntimeError("producer is closed")
    processor.runs.send.side_effect = refused  # type: ignore[attr-defined]  # an AsyncMock
    async with processor.route.test_context() as agent:
        await agent.put(raw("START", "2026-11-20T10:00:00Z"), key=b"k")
        for _ in range(100):  # route takes events in batches: give it the batch's wait
            if fatal_calls:
                break
            await asyncio.sleep(0.02)
    [(exc, event)] = fatal_calls
    assert exc is refused
    assert event.value == raw("START", "2026-11-20T10:00:00Z")


def test_the_worker_exits_at_once_saying_which_event_it_left_unacknowledged() -> None:
    script = """
import logging
from types import SimpleNamespace
from stream_processor.app import exit_unacknowledged
logging.basicConfig()
event = SimpleNamespace(message=SimpleNamespace(topic="lineage.runs", partition=2, offset=41))
try:
    exit_unacknowledged(RuntimeError("changelog topic has 0 partitions"), event)
finally:
    print("cleanup ran")  # os._exit skips it, as it skips Faust's acknowledgement
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_UNPROCESSED
    assert "cleanup ran" not in done.stdout
    assert "topic=lineage.runs partition=2 offset=41" in done.stderr
    assert "RuntimeError: changelog topic has 0 partitions" in done.stderr
    assert "given it again when restarted" in done.stderr


def test_a_record_kafka_gives_up_delivering_stops_the_worker(
    processor: Processor, monkeypatch: pytest.MonkeyPatch
) -> None:
    processor.app.loop.run_until_complete(_test_a_record_kafka_gives_up_delivering(processor, monkeypatch))


async def _test_a_record_kafka_gives_up_delivering(processor: Processor, monkeypatch: pytest.MonkeyPatch) -> None:
    delivery = asyncio.get_event_loop().create_future()

    class Producer:
        async def send(self, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
            return delivery  # what aiokafka returns: the record's future, done once Kafka answers

    # Faust's own publishing path (what every send, the changelog's included, goes through), down
    # to the producer.
    topic = processor.run_table.changelog_topic
    monkeypatch.setattr(topic, "_get_producer", AsyncMock(return_value=Producer()))
    await topic.publish_message(topic.as_future_message(key=b"run", value=b"{}"))
    await asyncio.sleep(0)
    assert fatal_calls == []  # sent, not yet delivered
    gave_up = RuntimeError("KafkaTimeoutError: batch expired")
    delivery.set_exception(gave_up)
    await asyncio.sleep(0)  # the future's callbacks run
    [(exc, event)] = fatal_calls
    assert exc is gave_up and event is None


def test_a_change_set_over_the_message_limit_is_split_and_a_mutation_over_it_dead_lettered(
    processor: Processor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "CHANGE_SET_BYTES", 600)
    processor.app.loop.run_until_complete(_test_a_change_set_over_the_message_limit(processor))


async def _test_a_change_set_over_the_message_limit(processor: Processor) -> None:
    run_id = EVENT["run"]["runId"].encode()
    wide = EVENT | {
        "eventType": "START",
        "outputs": [
            {"namespace": "db", "name": f"dst{i}", "facets": {"documentation": {**FACET, "description": "d" * 20}}}
            for i in range(5)
        ]
        + [{"namespace": "db", "name": "huge", "facets": {"documentation": {**FACET, "description": "x" * 700}}}],
    }
    async with processor.merge.test_context() as agent:
        await put(agent, json.dumps(wide).encode(), key=run_id)
    messages = graph_messages(processor)
    assert len(messages) > 1 and all(len(value) <= 600 for _, value in messages)
    assert {key for key, _ in messages} == {b"runs-0"}
    names = {m.node.key.get("name") for m in sent_mutations(processor) if isinstance(m, NodeUpsert)}
    assert {f"dst{i}" for i in range(5)} <= names and "huge" not in names
    [letter] = [json.loads(value) for _, value in sent(processor.dlq)]
    assert letter["reason"] == "output-too-large"
    assert "exceed the 600-byte message limit" in letter["message"]


def test_a_run_whose_state_outgrows_a_message_is_dead_lettered_not_stored(
    processor: Processor, monkeypatch: pytest.MonkeyPatch
) -> None:
    processor.app.loop.run_until_complete(_test_a_run_whose_state_outgrows_a_message(processor, monkeypatch))


async def _test_a_run_whose_state_outgrows_a_message(processor: Processor, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = EVENT["run"]["runId"].encode()
    async with processor.merge.test_context() as agent:
        await put(agent, raw("START", "2026-11-20T10:00:00Z"), key=run_id)
        kept = processor.run_table[run_id]
        sent_before = len(graph_messages(processor))
        monkeypatch.setattr(app_module, "STATE_BYTES", len(kept))  # the next, larger state will not fit
        wider = EVENT | {"eventType": "RUNNING", "eventTime": "2026-11-20T10:01:00Z"}
        wider["inputs"] = [*EVENT["inputs"], {"namespace": "db", "name": "another"}]  # type: ignore[misc]
        await put(agent, json.dumps(wider).encode(), key=run_id)
    assert processor.run_table[run_id] == kept
    assert len(graph_messages(processor)) == sent_before
    [letter] = [json.loads(value) for _, value in sent(processor.dlq)]
    assert letter["reason"] == "state-too-large"
    assert f"over the {len(kept)}-byte limit" in letter["message"]


def test_a_state_faust_s_json_codec_stored_reads_back_through_the_raw_table(processor: Processor) -> None:
    """Before states were stored as bytes, the table's JSON codec encoded the same document."""
    processor.app.loop.run_until_complete(_test_a_state_faust_s_json_codec_stored(processor))


async def _test_a_state_faust_s_json_codec_stored(processor: Processor) -> None:
    run_id = EVENT["run"]["runId"].encode()
    async with processor.merge.test_context() as agent:
        await put(agent, raw("START", "2026-11-20T10:00:00Z"), key=run_id)
        now = processor.run_table[run_id]
        old_style = codecs.dumps("json", json.loads(now))  # as the old worker stored it
        processor.run_table.data[run_id] = old_style
        await put(agent, raw("COMPLETE", "2026-11-20T10:05:00Z"), key=run_id)
    merged = stored_run(processor.run_table[run_id])
    assert merged.state.value == "COMPLETED"
    assert merged.started_at is not None and merged.started_at.isoformat() == "2026-11-20T10:00:00+00:00"


def test_a_redelivery_whose_state_is_too_large_still_re_sends_the_run(
    processor: Processor, monkeypatch: pytest.MonkeyPatch
) -> None:
    processor.app.loop.run_until_complete(_test_a_redelivery_whose_state_is_too_large(processor, monkeypatch))


async def _test_a_redelivery_whose_state_is_too_large(processor: Processor, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = EVENT["run"]["runId"].encode()
    start = raw("START", "2026-11-20T10:00:00Z")
    async with processor.merge.test_context() as agent:
        await put(agent, start, key=run_id)  # offset 0
        sent_before = len(graph_messages(processor))
        monkeypatch.setattr(app_module, "STATE_BYTES", len(processor.run_table[run_id]) - 1)
        agent.sent_offset = 0  # Kafka delivers offset 0 again
        await put(agent, start, key=run_id)
    assert len(graph_messages(processor)) > sent_before  # the run's full state, sent again
    [letter] = [json.loads(value) for _, value in sent(processor.dlq)]
    assert letter["reason"] == "state-too-large"
    assert letter["message"].endswith("it was not stored")


def test_merge_folds_the_events_of_a_routed_batch_and_dead_letters_by_where_they_were_read(
    processor: Processor, monkeypatch: pytest.MonkeyPatch
) -> None:
    processor.app.loop.run_until_complete(_test_merge_folds_a_routed_batch(processor, monkeypatch))


async def _test_merge_folds_a_routed_batch(processor: Processor, monkeypatch: pytest.MonkeyPatch) -> None:
    changelog = record_changelog(processor, monkeypatch)
    one, other = EVENT["run"]["runId"].encode(), str(uuid.UUID(int=7, version=4)).encode()
    other_start = json.dumps(EVENT | {"eventType": "START", "run": {"runId": other.decode()}}).encode()
    batch = pack(
        "openlineage.events",
        [
            (one, raw("START", "2026-11-20T10:00:00Z"), 0, 10),
            (other, other_start, 4, 11),
            (one, b"{oops", 3, 17),
            (one, raw("COMPLETE", "2026-11-20T10:05:00Z"), 0, 12),
        ],
    )
    async with processor.merge.test_context() as agent:
        await put(agent, batch, key=None, partition=1)
        await put(agent, b"LRB1\x05\x00", key=None, partition=1)  # not a batch: a foreign producer's
    # Both runs' states on the batch's partition; what they changed in one change set.
    assert changelog == [(1, one), (1, other)]
    assert [key for key, _ in graph_messages(processor)] == [b"runs-1"]
    runs = {
        m.node.key["runId"]: m.props["state"]
        for m in sent_mutations(processor)
        if m.op == "node" and m.node.label == "Run"
    }
    assert runs == {one.decode(): "COMPLETED", other.decode(): "RUNNING"}
    # A dead letter names where the event was first read, and carries it as sent.
    letters = [json.loads(v) for _, v in sent(processor.dlq)]
    assert [letter["reason"] for letter in letters] == ["not-json", "bad-batch"]
    assert letters[0]["source"] == {"topic": "openlineage.events", "partition": 3, "offset": 17}
    assert base64.b64decode(letters[0]["raw"]) == b"{oops"
    assert letters[1]["source"]["partition"] == 1 and letters[1]["source"]["offset"] == 1


def test_events_of_one_run_in_one_routed_batch_are_not_taken_for_redeliveries(processor: Processor) -> None:
    processor.app.loop.run_until_complete(_test_events_of_one_run_in_one_batch(processor))


async def _test_events_of_one_run_in_one_batch(processor: Processor) -> None:
    def kinds(mutations: list[Any]) -> set[tuple[str, str]]:
        return {(m.op, m.node.label if m.op == "node" else m.type) for m in mutations}

    run_id = EVENT["run"]["runId"].encode()
    topic = "openlineage.events"
    later = pack(
        topic,
        [
            (run_id, raw("RUNNING", "2026-11-20T10:01:00Z"), 0, 2),
            (run_id, raw("COMPLETE", "2026-11-20T10:05:00Z"), 0, 3),
        ],
    )
    async with processor.merge.test_context() as agent:
        await put(agent, pack(topic, [(run_id, raw("START", "2026-11-20T10:00:00Z"), 0, 1)]), key=None)  # offset 0
        first = len(graph_messages(processor))
        await put(agent, later, key=None)  # offset 1: two events of the run in one message
        # Only what they changed: the job and datasets were sent with the START.
        changed = kinds(sent_mutations(processor, first))
        assert ("node", "Run") in changed and ("node", "Job") not in changed and ("node", "Dataset") not in changed
        # The state remembers the position of the last event that changed it: offset 1, index 1.
        assert json.loads(processor.run_table[run_id])["offset"] == 1 * app_module.POSITIONS_PER_MESSAGE + 1
        before = len(graph_messages(processor))
        agent.sent_offset = 1  # Kafka delivers offset 1 again (a crash before the commit)
        await put(agent, later, key=None)
        # A redelivery: the run's whole state, sent again.
        assert {("node", "Job"), ("node", "Dataset"), ("node", "Run")} <= kinds(sent_mutations(processor, before))


def test_a_dead_letter_the_merge_cannot_send_stops_the_worker_unacknowledged(processor: Processor) -> None:
    processor.app.loop.run_until_complete(_test_a_dead_letter_the_merge_cannot_send(processor))


async def _test_a_dead_letter_the_merge_cannot_send(processor: Processor) -> None:
    refused = RuntimeError("KafkaTimeoutError")
    processor.dlq.send.side_effect = refused  # type: ignore[attr-defined]  # an AsyncMock
    async with processor.merge.test_context() as agent:
        with pytest.raises(Stopped):
            await put(agent, b"LRB1garbage", key=None)
    [(exc, event)] = fatal_calls
    assert exc is refused and event.value == b"LRB1garbage"
