"""The sink loop's commit and retry rules, with fakes for the consumer and the writer."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import pytest
from neo4j.exceptions import DatabaseError, ServiceUnavailable

from lineage.mutations import decode_change_set, decode_mutation, encode_change_set, encode_mutation, node
from lineage.settings import Settings
from sinks.consumer import GraphSink
from sinks.dead_letters import DeadLetterFailed


class FakeMessage:
    def __init__(self, value: bytes, offset: int, error: Any = None) -> None:
        self._value, self._offset, self._error = value, offset, error

    def error(self) -> Any:
        return self._error

    def value(self) -> bytes:
        return self._value

    def topic(self) -> str:
        return "lineage.graph"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"k%d" % self._offset


class FakeError:
    def code(self) -> int:
        return -1

    def __str__(self) -> str:
        return "broker went away"


class FakeConsumer:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.committed: list[list[tuple[int, int]]] = []  # per commit: (partition, offset) pairs

    def commit(self, asynchronous: bool, offsets: Any = None) -> None:
        self.log.append("commit")
        self.committed.append([(tp.partition, tp.offset) for tp in offsets or []])

    def assignment(self) -> list[str]:
        return ["lineage.graph[0]"]

    def pause(self, partitions: list[str]) -> None:
        self.log.append("pause")

    def resume(self, partitions: list[str]) -> None:
        self.log.append("resume")

    def poll(self, timeout: float) -> None:
        return None


class FlakyWriter:
    def __init__(self, failures: int, on_failure: Any = None) -> None:
        self.failures, self.on_failure, self.batches = failures, on_failure, []

    def write(self, mutations: list[Any]) -> int:
        if self.failures:
            self.failures -= 1
            if self.on_failure:
                self.on_failure()
            raise ServiceUnavailable("Neo4j is restarting")
        self.batches.append(as_models(mutations))
        return 1


def as_models(mutations: list[Any]) -> list[Any]:
    """What the sink hands the writer (plain JSON objects, lineage.mutations.read_change_set), as models."""
    return [decode_mutation(json.dumps(m)) for m in mutations]


def mutation(i: int) -> FakeMessage:
    return FakeMessage(encode_mutation(node("Job", namespace="ns", name=f"job{i}")), i)


class FakeLetterBox:
    def __init__(self, consumer: FakeConsumer | None = None, fail: bool = False) -> None:
        self.letters: list[dict[str, Any]] = []
        self.consumer, self.fail = consumer, fail

    def send(self, letters: list[tuple[bytes | None, bytes]]) -> None:
        if self.fail:
            raise DeadLetterFailed("Kafka is down")
        self.letters += [json.loads(v) | {"key": k} for k, v in letters]
        if self.consumer:
            self.consumer.log.append("dead-letter")


def sink(writer: Any, consumer: FakeConsumer, letters: Any = None) -> GraphSink:
    return GraphSink(Settings(), writer, consumer, letters or FakeLetterBox(consumer))  # type: ignore[arg-type]


def test_commits_only_after_neo4j_took_the_batch(monkeypatch: Any) -> None:
    monkeypatch.setattr("sinks.consumer.MAX_BACKOFF_SECONDS", 0.01)
    consumer, writer = FakeConsumer(), FlakyWriter(failures=2)
    graph_sink = sink(writer, consumer)
    graph_sink._handle([mutation(1), mutation(2)])
    assert len(writer.batches) == 1 and len(writer.batches[0]) == 2
    assert consumer.log[0] == "pause" and consumer.log[-2:] == ["resume", "commit"]
    assert consumer.log.count("commit") == 1
    assert graph_sink.written == 2


def test_stopping_during_an_outage_commits_nothing() -> None:
    consumer = FakeConsumer()
    stop = threading.Event()
    graph_sink = sink(FlakyWriter(failures=100, on_failure=stop.set), consumer)
    graph_sink._stopping = stop
    graph_sink._handle([mutation(1)])
    assert "commit" not in consumer.log and graph_sink.written == 0


def test_a_poll_with_only_errors_commits_nothing() -> None:
    consumer, writer = FakeConsumer(), FlakyWriter(failures=0)
    sink(writer, consumer)._handle([FakeMessage(b"", 0, error=FakeError())])
    assert consumer.log == [] and writer.batches == []


def test_a_malformed_record_is_dead_lettered_before_the_commit_and_the_rest_written() -> None:
    consumer, writer = FakeConsumer(), FlakyWriter(failures=0)
    letters = FakeLetterBox(consumer)
    evil = b'{"op": "node", "node": {"label": "Evil"}}'
    sink(writer, consumer, letters)._handle([FakeMessage(evil, 0), mutation(1)])
    assert [m.node.key["name"] for m in writer.batches[0]] == ["job1"]
    assert consumer.log == ["dead-letter", "commit"]
    (letter,) = letters.letters
    assert letter["reason"] == "malformed-mutation" and "item 0" in letter["message"]
    assert base64.b64decode(letter["raw"]) == evil
    assert letter["source"] == {"topic": "lineage.graph", "partition": 0, "offset": 0} and letter["key"] == b"k0"


class RefusingWriter:
    """Neo4j refusing, for good, every batch that holds a dataset named 'too-large'."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []

    def write(self, mutations: list[Any]) -> int:
        mutations = as_models(mutations)
        if any(getattr(m, "node", None) is not None and m.node.key.get("name") == "too-large" for m in mutations):
            raise DatabaseError._hydrate_neo4j(  # type: ignore[attr-defined]
                code="Neo.DatabaseError.Statement.ExecutionFailed", message="Property value is too large to index"
            )
        self.batches.append(mutations)
        return 1


def test_what_neo4j_refuses_is_dead_lettered_and_everything_else_written() -> None:
    consumer, writer, letters = FakeConsumer(), RefusingWriter(), FakeLetterBox()
    too_large = node("Dataset", namespace="db", name="too-large")
    bad = FakeMessage(encode_change_set([node("Job", namespace="ns", name="job1"), too_large]), 1)
    graph_sink = sink(writer, consumer, letters)
    graph_sink._handle([mutation(0), bad, mutation(2)])
    # One by one after the batch was refused: the good part of record 1 is written too.
    assert [[m.node.key["name"] for m in batch] for batch in writer.batches] == [["job0"], ["job1"], ["job2"]]
    (letter,) = letters.letters
    assert letter["reason"] == "neo4j-refused"
    assert letter["message"].startswith("1 of 2 mutation(s) refused: Neo.DatabaseError.Statement.ExecutionFailed")
    assert decode_change_set(base64.b64decode(letter["raw"])) == ([too_large], [])
    assert letter["source"]["offset"] == 1
    assert consumer.log == ["commit"] and graph_sink.written == 3 and graph_sink.dead_lettered == 1


def test_when_a_dead_letter_cannot_be_sent_nothing_is_committed() -> None:
    consumer = FakeConsumer()
    with pytest.raises(DeadLetterFailed):
        sink(FlakyWriter(failures=0), consumer, FakeLetterBox(fail=True))._handle([FakeMessage(b"junk", 0)])
    assert "commit" not in consumer.log


def test_a_change_set_is_written_whole_and_its_malformed_items_dead_lettered() -> None:
    consumer, writer = FakeConsumer(), FlakyWriter(failures=0)
    change_set = encode_change_set([node("Job", namespace="ns", name="a"), node("Job", namespace="ns", name="b")])
    evil = (
        b'[{"op": "node", "node": {"label": "Evil", "key": {}}}, '
        + encode_mutation(node("Job", namespace="ns", name="c"))
        + b"]"
    )
    letters = FakeLetterBox(consumer)
    sink(writer, consumer, letters)._handle(
        [FakeMessage(change_set, 0), FakeMessage(evil, 1), FakeMessage(b"not json", 2)]
    )
    assert [m.node.key["name"] for m in writer.batches[0]] == ["a", "b", "c"]
    # The records with a bad part are dead-lettered whole (their good parts are written too).
    assert [(x["reason"], x["source"]["offset"]) for x in letters.letters] == [
        ("malformed-mutation", 1),
        ("malformed-mutation", 2),
    ]
    assert consumer.log == ["dead-letter", "commit"]


def test_a_large_batch_is_written_in_bounded_transactions_and_committed_after_the_last(monkeypatch: Any) -> None:
    monkeypatch.setattr("sinks.consumer.TRANSACTION_MUTATIONS", 5)
    consumer, writer = FakeConsumer(), FlakyWriter(failures=0)
    records = [
        FakeMessage(encode_change_set([node("Job", namespace="ns", name=f"j{i}-{k}") for k in range(size)]), i)
        for i, size in enumerate([2, 3, 1, 7, 2])
    ]
    graph_sink = sink(writer, consumer)
    graph_sink._handle(records)
    # Records are never split; a transaction holds at most 5 mutations unless one record is larger.
    assert [len(batch) for batch in writer.batches] == [5, 1, 7, 2]
    # Each committed once written: past its last record.
    assert consumer.committed == [[(0, 2)], [(0, 3)], [(0, 4)], [(0, 5)]]
    assert graph_sink.written == 15


def test_stopping_between_transactions_commits_only_what_was_written(monkeypatch: Any) -> None:
    monkeypatch.setattr("sinks.consumer.TRANSACTION_MUTATIONS", 1)
    monkeypatch.setattr("sinks.consumer.MAX_BACKOFF_SECONDS", 0.01)
    consumer = FakeConsumer()
    stop = threading.Event()
    writer = FlakyWriter(failures=0)
    graph_sink = sink(writer, consumer)
    graph_sink._stopping = stop

    def write(mutations: list[Any]) -> int:
        if writer.batches:  # the second transaction meets an outage, and the sink is stopped
            stop.set()
            raise ServiceUnavailable("Neo4j is restarting")
        writer.batches.append(as_models(mutations))
        return 1

    writer.write = write  # type: ignore[method-assign]
    graph_sink._handle([mutation(1), mutation(2)])
    assert len(writer.batches) == 1 and consumer.committed == [[(0, 2)]] and graph_sink.written == 1
