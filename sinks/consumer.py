"""``lineage sink``: consume ``lineage.graph`` and write it to Neo4j, batch by batch.

Offsets are committed only after Neo4j committed the batch, so a crash or a Neo4j outage means
the batch is written again, never lost. While Neo4j is unreachable the batch is retried with
backoff; the partitions are paused meanwhile and the consumer keeps polling, so it stays in
its group however long the outage lasts.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

import neo4j
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from neo4j.exceptions import DriverError, Neo4jError

from lineage.mutations import AnyMutation, decode_change_set
from lineage.settings import Settings
from producers.topics import ensure_topics
from sinks.neo4j_writer import Neo4jGraphWriter

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0


class GraphSink:
    def __init__(self, settings: Settings, writer: Neo4jGraphWriter, consumer: Consumer) -> None:
        self._settings = settings
        self._writer = writer
        self._consumer = consumer
        self._stopping = threading.Event()
        self.written = 0

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        self._consumer.subscribe([self._settings.graph_topic])
        try:
            while not self._stopping.is_set():
                messages = self._consumer.consume(self._settings.sink_batch_size, POLL_SECONDS)
                if messages:
                    self._handle(messages)
        finally:
            self._consumer.close()

    def _handle(self, messages: list[Message]) -> None:
        mutations: list[AnyMutation] = []
        consumed = False
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    logger.error("consume error: %s", error)
                continue
            consumed = True
            valid, problems = decode_change_set(msg.value() or b"")
            mutations += valid
            if problems:
                # Only a producer outside this product could write such a record; skipping it
                # keeps the sink moving. (Dead-lettering these is part of the sink's DLQ work.)
                logger.error(
                    "skipped malformed mutations topic=%s partition=%s offset=%s: %s",
                    msg.topic(),
                    msg.partition(),
                    msg.offset(),
                    "; ".join(problems)[:2000],
                )
        if not consumed:
            return
        if mutations and not self._write_with_retry(mutations):
            return  # stopping before the batch was written: do not commit it
        self._commit()
        self.written += len(mutations)

    def _commit(self) -> None:
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            # Typically a rebalance took the partitions away: their new owner re-reads from the
            # last commit and rewrites the same upserts, which is harmless.
            logger.warning("offset commit failed, batch will be redelivered: %s", exc.args[0])

    def _write_with_retry(self, mutations: list[AnyMutation]) -> bool:
        """Write until Neo4j takes the batch; False if asked to stop first.

        While retrying, the assigned partitions are paused and the consumer keeps polling, so
        it stays in its group (max.poll.interval.ms) without fetching anything new.
        """
        backoff = 0.5
        paused = False
        try:
            while True:
                try:
                    self._writer.write(mutations)
                    return True
                except (DriverError, Neo4jError) as exc:
                    if isinstance(exc, Neo4jError) and not exc.is_retryable():
                        raise
                    logger.warning(
                        "Neo4j write failed, retrying in %.1fs mutations=%d: %s", backoff, len(mutations), exc
                    )
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


def create_consumer(settings: Settings) -> Consumer:
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": settings.sink_group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.max.bytes": 52_428_800,
        "max.partition.fetch.bytes": 16_777_216,
    }
    return Consumer(config)


def run_sink(settings: Settings) -> None:
    ensure_topics(settings.kafka_bootstrap, [settings.graph_topic], settings.topic_partitions)
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth) as driver:
        writer = Neo4jGraphWriter(driver, settings.neo4j_database)
        writer.verify(settings.neo4j_uri)
        writer.ensure_schema()
        sink = GraphSink(settings, writer, create_consumer(settings))
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
