"""Publishing to Kafka from asyncio code, one event at a time, awaiting Kafka's acknowledgement.

``AsyncKafkaPublisher`` is what the HTTP ingest endpoint (producers.http_ingest) answers with: a
request awaits ``publish`` until Kafka has acknowledged its event (acks=all), or gets
``PublishFailed`` (``too_large`` when Kafka refused the size, so that a retry will not help). It
uses the producer settings of producers.publisher (PRODUCER_CONFIG), so events sent over HTTP
travel like events replayed from files; ``check`` is the endpoint's health probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from producers.publisher import PRODUCER_CONFIG

logger = logging.getLogger(__name__)

ACK_TIMEOUT = 30.0  # seconds a request waits for Kafka's acknowledgement before answering 503
HEALTH_TIMEOUT = 2.0


class PublishFailed(RuntimeError):
    """Kafka did not take the event. ``too_large``: it refused the size, so a retry will not help."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


class AsyncKafkaPublisher:
    """A confluent-kafka producer whose ``publish`` an asyncio task can await until Kafka acks.

    ``produce`` only queues (it never blocks the event loop); a background thread polls the
    producer, and each message's delivery callback settles that message's Future on its loop
    (``call_soon_threadsafe``). Concurrent requests thus share the producer's batches (linger).
    The configuration is EventPublisher's (PRODUCER_CONFIG); ``message.timeout.ms`` is the
    acknowledgement timeout, so a request answered 503 for a timeout is, normally, one librdkafka
    gave up on too.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        ack_timeout: float = ACK_TIMEOUT,
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.topic = topic
        self._ack_timeout = ack_timeout
        self._fatal: str | None = None
        self._closed = threading.Event()
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                **PRODUCER_CONFIG,
                "message.timeout.ms": max(1000, int(ack_timeout * 1000)),
                "error_cb": self._on_error,
                "logger": logger,
                **(extra_config or {}),
            }
        )
        self._poller = threading.Thread(target=self._poll, name=f"kafka-poll-{topic}", daemon=True)
        self._poller.start()

    async def publish(self, raw: bytes, key: str | None) -> None:
        if self._closed.is_set():
            raise PublishFailed("the ingest endpoint is shutting down")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        deadline = loop.time() + self._ack_timeout
        while True:
            try:
                self._producer.produce(
                    self.topic,
                    value=raw,
                    key=key.encode() if key else None,
                    on_delivery=functools.partial(_on_delivery, loop, future),
                )
                break
            except BufferError as exc:
                # The local queue is full (Kafka is slow or away): wait for room, up to the timeout.
                if loop.time() > deadline:
                    raise PublishFailed("the producer's queue stayed full: Kafka is not keeping up") from exc
                await asyncio.sleep(0.05)
            except KafkaException as exc:
                error = exc.args[0]
                raise PublishFailed(str(error), too_large=_too_large(error)) from exc
        await future

    async def check(self) -> None:
        await asyncio.to_thread(self._check)

    def _check(self) -> None:
        if self._fatal:
            raise PublishFailed(f"the producer failed fatally ({self._fatal}); restart the ingest endpoint")
        try:
            metadata = self._producer.list_topics(self.topic, timeout=HEALTH_TIMEOUT)
        except KafkaException as exc:
            raise PublishFailed(f"Kafka did not answer: {exc.args[0]}") from exc
        found = metadata.topics.get(self.topic)
        if found is None or found.error is not None:
            raise PublishFailed(f"topic {self.topic} is not available: {found.error if found else 'missing'}")

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def close(self, timeout: float = ACK_TIMEOUT) -> None:
        """Deliver what is queued (up to ``timeout``) and stop polling. Idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._poller.join()
        remaining = self._producer.flush(timeout)
        if remaining:
            logger.error("events not delivered at shutdown topic=%s count=%d", self.topic, remaining)

    def _poll(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.1)

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._fatal = str(error)
            logger.error("Kafka producer failed fatally topic=%s error=%s", self.topic, error)
        else:
            logger.warning("Kafka producer error topic=%s error=%s", self.topic, error)


def _on_delivery(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[None], err: KafkaError | None, _msg: Message
) -> None:
    """Runs on the poll thread: hand the outcome to the loop that awaits it."""
    outcome = None if err is None else PublishFailed(str(err), too_large=_too_large(err))
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody awaits this any more
        loop.call_soon_threadsafe(_settle, future, outcome)


def _settle(future: asyncio.Future[None], outcome: PublishFailed | None) -> None:
    if future.done():  # the request timed out or went away
        return
    if outcome is None:
        future.set_result(None)
    else:
        future.set_exception(outcome)


def _too_large(error: Any) -> bool:
    return isinstance(error, KafkaError) and error.code() == KafkaError.MSG_SIZE_TOO_LARGE
