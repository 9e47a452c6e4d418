"""``lineage sink``: consume ``lineage.graph`` and write it to Neo4j, batch by batch.

Offsets are committed only after Neo4j committed the batch, so a crash or a Neo4j outage means
the batch is written again, never lost. While Neo4j is unreachable the batch is retried with
backoff and the consumer keeps its partitions.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import neo4j
from confluent_kafka import Consumer, KafkaError, Message
from neo4j.exceptions import DriverError, Neo4jError
from pydantic import ValidationError

from lineage.mutations import EdgeUpsert, NodeUpsert, decode_mutation
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
        mutations: list[NodeUpsert | EdgeUpsert] = []
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    logger.error("consume error: %s", error)
                continue
            try:
                mutations.append(decode_mutation(msg.value() or b""))
            except ValidationError as exc:
                # Only a producer outside this product could write such a record; skipping it
                # keeps the sink moving. (Dead-lettering these is part of the sink's DLQ work.)
                logger.error(
                    "skipped malformed mutation topic=%s partition=%s offset=%s: %s",
                    msg.topic(), msg.partition(), msg.offset(), exc.errors()[:3],
                )
        if mutations and not self._write_with_retry(mutations):
            return  # stopping before the batch was written: do not commit it
        self._consumer.commit(asynchronous=False)
        self.written += len(mutations)

    def _write_with_retry(self, mutations: list[NodeUpsert | EdgeUpsert]) -> bool:
        backoff = 0.5
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
                if self._stopping.wait(backoff):
                    return False
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


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
            settings.graph_topic, settings.sink_group, settings.neo4j_uri,
        )
        sink.run()
        logger.info("sink stopped mutations_written=%d", sink.written)
