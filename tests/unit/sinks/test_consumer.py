"""The sink loop's commit and retry rules, with fakes for the consumer and the writer."""

from __future__ import annotations

import threading
from typing import Any

from neo4j.exceptions import ServiceUnavailable

from lineage.mutations import encode_change_set, encode_mutation, node
from lineage.settings import Settings
from sinks.consumer import GraphSink


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


class FakeError:
    def code(self) -> int:
        return -1

    def __str__(self) -> str:
        return "broker went away"


class FakeConsumer:
    def __init__(self) -> None:
        self.log: list[str] = []

    def commit(self, asynchronous: bool) -> None:
        self.log.append("commit")

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
        self.batches.append(mutations)
        return 1


def mutation(i: int) -> FakeMessage:
    return FakeMessage(encode_mutation(node("Job", namespace="ns", name=f"job{i}")), i)


def sink(writer: Any, consumer: FakeConsumer) -> GraphSink:
    return GraphSink(Settings(), writer, consumer)  # type: ignore[arg-type]


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


def test_a_malformed_record_is_skipped_and_the_rest_written() -> None:
    consumer, writer = FakeConsumer(), FlakyWriter(failures=0)
    sink(writer, consumer)._handle([FakeMessage(b'{"op": "node", "node": {"label": "Evil"}}', 0), mutation(1)])
    assert [m.node.key["name"] for m in writer.batches[0]] == ["job1"]
    assert consumer.log == ["commit"]


def test_a_change_set_is_written_whole_and_its_malformed_items_skipped() -> None:
    consumer, writer = FakeConsumer(), FlakyWriter(failures=0)
    change_set = encode_change_set([node("Job", namespace="ns", name="a"), node("Job", namespace="ns", name="b")])
    evil = (
        b'[{"op": "node", "node": {"label": "Evil", "key": {}}}, '
        + encode_mutation(node("Job", namespace="ns", name="c"))
        + b"]"
    )
    sink(writer, consumer)._handle([FakeMessage(change_set, 0), FakeMessage(evil, 1), FakeMessage(b"not json", 2)])
    assert [m.node.key["name"] for m in writer.batches[0]] == ["a", "b", "c"]
    assert consumer.log == ["commit"]
