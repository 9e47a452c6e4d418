"""``lineage sink``: consume ``lineage.graph`` and write it to Neo4j, batch by batch.

Offsets are committed only after Neo4j committed the batch, so a crash or a Neo4j outage means
the batch is written again, never lost. While Neo4j is unreachable the batch is retried with
backoff; the partitions are paused meanwhile and the consumer keeps polling, so it stays in
its group however long the outage lasts. A record Neo4j refuses for good (or that is not
mutations at all) goes to the dead-letter topic with the reason, and the rest of the batch is
written (``sinks.dead_letters``).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from typing import Any, Protocol

import neo4j
import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from neo4j.exceptions import DriverError, Neo4jError

from lineage.dead_letter import dead_letter
from lineage.mutations import MutationDict, join_change_set, read_change_set
from lineage.settings import Settings
from observability import metrics
from observability.health import Health
from observability.lag import export_pipeline_lag
from observability.server import serve_operations
from producers.topics import ensure_settings_topics
from sinks.dead_letters import DeadLetterWriter
from sinks.neo4j_writer import Neo4jGraphWriter

logger = logging.getLogger(__name__)

# How long the sink waits to fill a batch: consume() returns when it has LINEAGE_SINK_BATCH_SIZE
# messages or when this has passed. Under load batches fill from what arrived during the last
# write; at a trickle a change waits at most this long before it is written.
BATCH_WAIT_SECONDS = 0.05
# Retries of a write Neo4j could not take double their wait up to this: an outage costs one
# cheap connection attempt per few seconds, and the sink writes within seconds of Neo4j's return.
MAX_BACKOFF_SECONDS = 5.0
# The most mutations written in one Neo4j transaction (a record is never split): a consumed batch
# of many large change sets is written in several, and committed after the last.
TRANSACTION_MUTATIONS = 5_000


class LetterBox(Protocol):
    def send(self, letters: list[tuple[bytes | None, bytes]]) -> None: ...


class GraphSink:
    def __init__(
        self,
        settings: Settings,
        writer: Neo4jGraphWriter,
        consumer: Consumer,
        dead_letters: LetterBox,
        health: Health | None = None,
    ) -> None:
        self._settings = settings
        self._writer = writer
        self._consumer = consumer
        self._dead_letters = dead_letters
        self._health = health or Health(settings.health_stuck_seconds)
        self._neo4j_down = False  # the last write failed for want of Neo4j: not ready until one succeeds
        self._consumed = metrics.RECORDS_CONSUMED.labels(settings.graph_topic)
        self._stopping = threading.Event()
        self.written = 0
        self.dead_lettered = 0

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        self._health.not_ready("starting", "joining the consumer group")
        self._consumer.subscribe([self._settings.graph_topic], on_assign=lambda *_: self._assigned())
        try:
            while not self._stopping.is_set():
                self._health.beat()
                messages = self._consumer.consume(self._settings.sink_batch_size, BATCH_WAIT_SECONDS)
                if messages:
                    self._handle(messages)
        finally:
            self._consumer.close()

    def _assigned(self) -> None:
        if not self._neo4j_down:
            self._health.ready()

    def _handle(self, messages: list[Message]) -> None:
        groups: list[tuple[Message, list[MutationDict]]] = []
        malformed: dict[int, tuple[bytes | None, bytes]] = {}  # id(record) -> its dead letter
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    logger.error("consume error: %s", error)
                continue
            valid, problems = read_change_set(msg.value() or b"")
            groups.append((msg, valid))
            self._consumed.inc()
            if problems:
                # Only a producer outside this product could write such a record.
                malformed[id(msg)] = self._letter(msg, "malformed-mutation", "; ".join(problems))
        # A transaction at a time, each committed once written (and its dead letters sent): a
        # batch of many large change sets makes progress even if it outlasts the consumer's poll
        # interval, and a crash redelivers only what was not written.
        for chunk in _transactions(groups, TRANSACTION_MUTATIONS):
            letters = [malformed[id(msg)] for msg, _ in chunk if id(msg) in malformed]
            written = self._write_groups(chunk, letters)
            if written is None:
                return  # stopping before the transaction was written: do not commit it
            if letters:
                self._dead_letters.send(letters)  # before the commit: nothing is lost
                self.dead_lettered += len(letters)
                for _, letter in letters:
                    metrics.DEAD_LETTERS.labels(self._settings.graph_dlq_topic, json.loads(letter)["reason"]).inc()
                metrics.RECORDS_PRODUCED.labels(self._settings.graph_dlq_topic).inc(len(letters))
                logger.error(
                    "dead-lettered %d record(s) to %s: %s",
                    len(letters),
                    self._settings.graph_dlq_topic,
                    "; ".join(json.loads(v)["message"][:300] for _, v in letters[:3]),
                )
            self._commit([msg for msg, _ in chunk])
            self.written += written
            metrics.MUTATIONS_WRITTEN.inc(written)

    def _write_groups(
        self, groups: list[tuple[Message, list[MutationDict]]], letters: list[tuple[bytes | None, bytes]]
    ) -> int | None:
        """Write the records' mutations in one transaction; what Neo4j refuses for good goes to
        ``letters``. The number of mutations written, or None if asked to stop first."""
        try:
            if not self._write_with_retry([m for _, ms in groups for m in ms]):
                return None
            return sum(len(ms) for _, ms in groups)
        except Neo4jError as exc:
            # Refused for good: find the records Neo4j will not take, one record at a time.
            logger.warning("Neo4j refused a batch (%s); writing its %d records one by one", exc.code, len(groups))
        written = 0
        for msg, ms in groups:
            try:
                if not self._write_with_retry(ms):
                    return None
                written += len(ms)
                continue
            except Neo4jError:
                pass
            # Then mutation by mutation: the letter holds only what Neo4j refused.
            refused: list[tuple[MutationDict, Neo4jError]] = []
            for mutation in ms:
                try:
                    if not self._write_with_retry([mutation]):
                        return None
                    written += 1
                except Neo4jError as error:
                    refused.append((mutation, error))
            reasons = "; ".join(sorted({f"{e.code}: {e.message}" for _, e in refused}))
            letters.append(
                self._letter(
                    msg,
                    "neo4j-refused",
                    f"{len(refused)} of {len(ms)} mutation(s) refused: {reasons}",
                    join_change_set([orjson.dumps(m) for m, _ in refused]),
                )
            )
        return written

    @staticmethod
    def _letter(msg: Message, reason: str, message: str, raw: bytes | None = None) -> tuple[bytes | None, bytes]:
        """A dead letter for a record: the record itself, or (``raw``) the part of it refused."""
        value = msg.value() or b"" if raw is None else raw
        return msg.key(), dead_letter(
            value, reason, message, msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        )

    def _commit(self, records: list[Message]) -> None:
        """Commit the offsets past ``records`` (consumed in order), partition by partition."""
        ends: dict[tuple[str, int], int] = {}
        for msg in records:
            place = (msg.topic() or "", msg.partition() or 0)
            ends[place] = max(ends.get(place, -1), msg.offset() or 0)
        offsets = [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in ends.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # Typically a rebalance took the partitions away: their new owner re-reads from the
            # last commit and rewrites the same upserts, which is harmless.
            logger.warning("offset commit failed, batch will be redelivered: %s", exc.args[0])

    def _write_with_retry(self, mutations: list[MutationDict]) -> bool:
        """Write until Neo4j takes the batch; False if asked to stop first.

        While retrying, the assigned partitions are paused and the consumer keeps polling, so
        it stays in its group (max.poll.interval.ms) without fetching anything new.
        """
        backoff = 0.5
        paused = False
        try:
            while True:
                started = time.perf_counter()
                try:
                    self._writer.write(mutations)
                except (DriverError, Neo4jError) as exc:
                    metrics.NEO4J_ERRORS.labels(metrics.neo4j_error_kind(exc)).inc()
                    if isinstance(exc, Neo4jError) and not exc.is_retryable():
                        raise
                    logger.warning(
                        "Neo4j write failed, retrying in %.1fs mutations=%d: %s", backoff, len(mutations), exc
                    )
                    metrics.SINK_RETRIES.inc()
                    self._neo4j_down = True
                    self._health.not_ready("neo4j-unavailable", f"{type(exc).__name__}: {exc}"[:500])
                else:
                    metrics.SINK_WRITE_SECONDS.observe(time.perf_counter() - started)
                    metrics.SINK_TRANSACTION_MUTATIONS.observe(len(mutations))
                    # A batch can take many transactions: each one written shows the loop alive.
                    self._health.beat()
                    self._neo4j_down = False
                    self._health.ready()
                    return True
                if not paused:
                    self._consumer.pause(self._consumer.assignment())
                    paused = True
                if self._idle(backoff):
                    return False
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        finally:
            if paused:
                self._consumer.resume(self._consumer.assignment())

    def _idle(self, seconds: float) -> bool:
        """Poll without consuming for ``seconds``; True if a stop was requested meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._health.beat()
            if self._stopping.is_set():
                return True
            self._consumer.pause(self._consumer.assignment())  # also any newly assigned
            msg = self._consumer.poll(min(0.5, max(deadline - time.monotonic(), 0)))
            if msg is not None and msg.error() is None:
                # Should not happen while paused; rewind so the record is not skipped.
                topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
                if topic is not None and partition is not None and offset is not None:
                    self._consumer.seek(TopicPartition(topic, partition, offset))
        return self._stopping.is_set()


def _transactions(
    groups: list[tuple[Message, list[MutationDict]]], limit: int
) -> list[list[tuple[Message, list[MutationDict]]]]:
    """The records in order, cut into runs of at most ``limit`` mutations (a record larger than
    that alone)."""
    out: list[list[tuple[Message, list[MutationDict]]]] = []
    size = 0
    for group in groups:
        if not out or (size + len(group[1]) > limit and size > 0):
            out.append([])
            size = 0
        out[-1].append(group)
        size += len(group[1])
    return out


def create_consumer(settings: Settings) -> Consumer:
    config: dict[str, Any] = {
        **settings.kafka_client_config(),
        "group.id": settings.sink_group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.max.bytes": 52_428_800,
        "max.partition.fetch.bytes": 16_777_216,
    }
    instance = settings.sink_instance_id.strip()
    if instance and instance.lower() != "none":
        # Static membership (lineage_cli.instances): a restarted sink takes its partitions back at once.
        config["group.instance.id"] = instance
    return Consumer(config)


def run_sink(settings: Settings) -> None:
    health = Health(settings.health_stuck_seconds)
    serve_operations("sink", settings.metrics_host, settings.sink_metrics_port, "LINEAGE_SINK_METRICS_PORT", health)
    if settings.sink_metrics_port:
        export_pipeline_lag(settings)
    ensure_settings_topics(settings, [settings.graph_topic, settings.graph_dlq_topic])
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, **settings.neo4j_driver_options) as driver:
        writer = Neo4jGraphWriter(driver, settings.neo4j_database)
        writer.verify(settings.neo4j_uri, settings.neo4j_user)
        writer.ensure_schema()
        letters = DeadLetterWriter(
            settings.kafka_bootstrap, settings.graph_dlq_topic, kafka_config=settings.kafka_security_config
        )
        sink = GraphSink(settings, writer, create_consumer(settings), letters, health)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: sink.stop())
        logger.info(
            "sink started topic=%s group=%s neo4j=%s",
            settings.graph_topic,
            settings.sink_group,
            settings.neo4j_uri,
        )
        sink.run()
        logger.info("sink stopped mutations_written=%d", sink.written)
