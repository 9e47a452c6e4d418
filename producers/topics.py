"""Creating the product's Kafka topics before anything reads or writes them.

Faust does not create topics it only consumes, and a consumer that starts before its topic
exists can miss it until the next metadata refresh, so every entry point calls
``ensure_topics`` first. Topics that already exist are left as they are.

New topics accept records up to MAX_MESSAGE_BYTES whatever the broker's default (often 1 MB):
an event may be up to LINEAGE_MAX_EVENT_BYTES, and the change set it causes somewhat larger.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

logger = logging.getLogger(__name__)

# The largest record the product's producers send (their message.max.bytes).
MAX_MESSAGE_BYTES = 16_777_216


class KafkaUnavailable(RuntimeError):
    """The Kafka cluster could not be reached; the message names the address tried."""


def ensure_topics(
    bootstrap: str, topics: Iterable[str], partitions: int, replication: int = 1, timeout: float = 30.0
) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise KafkaUnavailable(
            f"cannot reach Kafka at {bootstrap} ({exc.args[0]}). Start the local stack with "
            "`lineage stack up`, or set LINEAGE_KAFKA_BOOTSTRAP to your brokers."
        ) from exc
    wanted = [t for t in dict.fromkeys(topics) if t not in existing]
    if not wanted:
        return
    futures = admin.create_topics(
        [
            NewTopic(
                t,
                num_partitions=partitions,
                replication_factor=replication,
                config={"max.message.bytes": str(MAX_MESSAGE_BYTES)},
            )
            for t in wanted
        ],
        operation_timeout=timeout,
    )
    for topic, future in futures.items():
        try:
            future.result()
            logger.info("created topic topic=%s partitions=%d", topic, partitions)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
