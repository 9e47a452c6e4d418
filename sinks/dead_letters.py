"""Where the sink puts what Neo4j will never take: ``lineage.graph.dlq``.

A record is dead-lettered when it cannot be parsed as mutations (reason ``malformed-mutation``;
the letter holds the record) or when Neo4j refuses some of its mutations with a non-transient
error (reason ``neo4j-refused``, e.g. a key too large to index; the letter holds the refused
mutations as a change set, and the record's other mutations are written). The envelope is the
processor's (``lineage.dead_letter``): the raw bytes, the reason, the error and where the record
came from. Letters are flushed before the batch's offsets are committed, so a record is either
written, dead-lettered, or read again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confluent_kafka import Producer

from producers.publisher import PRODUCER_CONFIG


class DeadLetterFailed(RuntimeError):
    """Kafka did not acknowledge a dead letter; the batch is not committed."""


class DeadLetterWriter:
    def __init__(
        self, bootstrap: str, topic: str, timeout: float = 30.0, kafka_config: Mapping[str, Any] | None = None
    ) -> None:
        """``kafka_config``: the security settings (``Settings.kafka_security_config``)."""
        self._producer = Producer({**PRODUCER_CONFIG, **(kafka_config or {}), "bootstrap.servers": bootstrap})
        self._topic = topic
        self._timeout = timeout

    def send(self, letters: list[tuple[bytes | None, bytes]]) -> None:
        """Send (key, letter) pairs and wait until Kafka acknowledged every one."""
        errors: list[str] = []

        def delivered(err: object, _msg: object) -> None:
            if err is not None:
                errors.append(str(err))

        for key, letter in letters:
            self._producer.produce(self._topic, value=letter, key=key, on_delivery=delivered)
        remaining = self._producer.flush(self._timeout)
        if errors or remaining:
            raise DeadLetterFailed(
                f"{len(errors)} dead letter(s) refused and {remaining} unsent on {self._topic}: {errors[:3]}"
            )
