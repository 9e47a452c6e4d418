"""Publishing OpenLineage events to Kafka: one verb, ``publish``.

The producer is idempotent with acks=all, compresses, and lingers a little so that events travel
in batches. Delivery failures are collected from the delivery callbacks and raised by ``flush``,
never dropped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from lineage.message_key import message_key
from producers.topics import MAX_MESSAGE_BYTES

logger = logging.getLogger(__name__)


# The producer settings EventPublisher and producers.async_publisher share (plus bootstrap.servers):
# idempotent, acknowledged by every in-sync replica, compressed, batched.
PRODUCER_CONFIG: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "compression.type": "zstd",
    "linger.ms": 20,
    "batch.size": 1_000_000,
    "message.max.bytes": MAX_MESSAGE_BYTES,
}


class DeliveryFailed(RuntimeError):
    """Kafka did not acknowledge some events.

    ``errors`` lists (key, error) pairs: one per event refused or not acknowledged, and, when the
    flush timed out, one ``(None, "N event(s) still queued after ...")`` for those N events.
    ``failed`` is how many events were not delivered: the events with an error of their own plus
    the still-queued ones (``len(errors)`` when nothing was still queued).
    """

    def __init__(self, errors: list[tuple[str | None, str]], *, failed: int) -> None:
        super().__init__(f"{len(errors)} event(s) not delivered; first: {errors[0][1]}")
        self.errors = errors
        self.failed = failed


def _key_of_raw(raw: bytes) -> str | None:
    """The client key of raw JSON; None for what is not JSON (the processor dead-letters it)."""
    try:
        return message_key(json.loads(raw))
    except ValueError:
        return None


class EventPublisher:
    """``extra_config``: librdkafka settings on top of PRODUCER_CONFIG, the security settings
    (``Settings.kafka_security_config``) among them."""

    def __init__(self, bootstrap: str, topic: str, extra_config: Mapping[str, Any] | None = None):
        self.topic = topic
        self._errors: list[tuple[str | None, str]] = []
        self._delivered = 0
        self._producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG, **(extra_config or {})})

    def publish(self, events: Iterable[dict[str, Any] | bytes]) -> int:
        """Queue events (dicts, or raw JSON bytes sent as they are); returns how many."""
        count = 0
        for event in events:
            if isinstance(event, bytes):
                raw = event
                key = _key_of_raw(raw)
            else:
                raw = json.dumps(event, separators=(",", ":")).encode()
                key = message_key(event)
            self._produce(raw, key)
            count += 1
        return count

    def _produce(self, raw: bytes, key: str | None) -> None:
        while True:
            try:
                self._producer.produce(
                    self.topic, value=raw, key=key.encode() if key else None, on_delivery=self._on_delivery
                )
                break
            except BufferError:
                # Local queue full: serve delivery callbacks until there is room.
                self._producer.poll(0.5)
            except KafkaException as exc:
                # Refused before sending (too large, for one): reported by flush like any failure.
                self._errors.append((key, str(exc.args[0])))
                logger.error("event not queued topic=%s key=%s error=%s", self.topic, key, exc.args[0])
                break
        self._producer.poll(0)

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            raw_key = msg.key()
            key = raw_key.decode(errors="replace") if isinstance(raw_key, bytes) else None
            self._errors.append((key, str(err)))
            logger.error("event not delivered topic=%s key=%s error=%s", msg.topic(), key, err)
        else:
            self._delivered += 1

    def flush(self, timeout: float = 60.0) -> int:
        """Wait until every queued event is acknowledged; raises DeliveryFailed if any was not."""
        remaining = self._producer.flush(timeout)
        failed = len(self._errors) + remaining
        if remaining:
            self._errors.append((None, f"{remaining} event(s) still queued after {timeout:.0f}s"))
        if self._errors:
            errors, self._errors = self._errors, []
            raise DeliveryFailed(errors, failed=failed)
        return self._delivered

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
