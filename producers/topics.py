"""Creating the product's Kafka topics before anything reads or writes them.

Faust does not create topics it only consumes, and a consumer that starts before its topic
exists can miss it until the next metadata refresh, so every entry point calls
``ensure_topics`` first. Topics that already exist are left as they are. New topics count as
ensured only once the brokers' metadata shows all their partitions with a leader: a consumer
group formed before that sees the topic with no partitions and keeps that picture until its
next metadata refresh, five minutes later.

New topics accept records up to MAX_MESSAGE_BYTES whatever the broker's default (often 1 MB):
an event may be up to LINEAGE_MAX_EVENT_BYTES, and the change set it causes somewhat larger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from lineage.settings import Settings

logger = logging.getLogger(__name__)

# librdkafka's own log lines, for the short-lived clients the commands use: when Kafka is down it
# writes a connection error every few milliseconds (some 580 lines before a command's one clear
# error). Those clients raise KafkaUnavailable naming the address instead; their log is dropped.
CLIENT_LOGGER = logging.getLogger("lineage.kafka_client")
CLIENT_LOGGER.setLevel(logging.CRITICAL)
QUIET_CLIENT: dict[str, Any] = {"logger": CLIENT_LOGGER}
# How long a command waits for Kafka's first answer before it says Kafka cannot be reached.
REACH_SECONDS = 5.0

# The largest record the product's producers send (their message.max.bytes).
MAX_MESSAGE_BYTES = 16_777_216
# How often to look again while new topics are not yet in the brokers' metadata.
METADATA_POLL_SECONDS = 0.1


class KafkaUnavailable(RuntimeError):
    """The Kafka cluster could not be reached; the message names the address tried."""


class TopicsNotReady(KafkaUnavailable):
    """Topics were created but the brokers did not report them ready in time."""


class TopicCreationFailed(KafkaUnavailable):
    """The brokers refused to create a topic; the message gives their reason."""


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int,
    replication: int = -1,
    timeout: float = 30.0,
    compacted: Iterable[str] = (),
) -> dict[str, int]:
    """Create those of ``topics`` that are missing (``compacted`` ones with cleanup.policy=compact;
    ``replication`` -1 takes the brokers' default.replication.factor), wait until the brokers show
    them ready, and return every topic's partition count."""
    admin = AdminClient({"bootstrap.servers": bootstrap, **QUIET_CLIENT})
    names = list(dict.fromkeys(topics))
    compact = set(compacted)
    try:
        existing: Mapping[str, Any] = admin.list_topics(timeout=min(timeout, REACH_SECONDS)).topics
    except KafkaException as exc:
        raise KafkaUnavailable(
            f"cannot reach Kafka at {bootstrap} ({exc.args[0]}). Start the local stack with "
            "`lineage stack up`, or set LINEAGE_KAFKA_BOOTSTRAP to your brokers."
        ) from exc
    wanted = [t for t in names if t not in existing]
    if wanted:
        _create(admin, bootstrap, wanted, partitions, replication, timeout, compact)
        existing = wait_until_ready(admin, bootstrap, wanted, timeout)
    return {t: len(existing[t].partitions) for t in names}


def ensure_settings_topics(settings: Settings, topics: Iterable[str], compacted: Iterable[str] = ()) -> dict[str, int]:
    """``ensure_topics`` with the settings' brokers, partition count and replication."""
    return ensure_topics(
        settings.kafka_bootstrap,
        topics,
        settings.topic_partitions,
        replication=settings.topic_replication,
        compacted=compacted,
    )


def _create(
    admin: AdminClient,
    bootstrap: str,
    topics: list[str],
    partitions: int,
    replication: int,
    timeout: float,
    compact: set[str],
) -> None:
    def config(topic: str) -> dict[str, str]:
        policy = {"cleanup.policy": "compact"} if topic in compact else {}
        return {"max.message.bytes": str(MAX_MESSAGE_BYTES)} | policy

    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=replication, config=config(t)) for t in topics],
        operation_timeout=timeout,
    )
    for topic, future in futures.items():
        try:
            future.result()
            logger.info("created topic topic=%s partitions=%d", topic, partitions)
        except KafkaException as exc:
            error = exc.args[0]
            if error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                replicas = "the brokers' default" if replication == -1 else str(replication)
                raise TopicCreationFailed(
                    f"Kafka at {bootstrap} refused to create topic {topic!r} ({partitions} partitions, "
                    f"replication {replicas}): {error.str()}. Check LINEAGE_TOPIC_PARTITIONS and "
                    "LINEAGE_TOPIC_REPLICATION against the cluster, or create the topic yourself."
                ) from exc


def not_ready(metadata: Mapping[str, Any], topics: Iterable[str]) -> list[str]:
    """Those of ``topics`` the metadata does not show with partitions, each with a leader.

    The count is not checked: a topic another process created at the same moment may have
    another, which the caller sees in the counts ``ensure_topics`` returns."""
    missing = []
    for topic in topics:
        found = metadata.get(topic)
        if (
            found is None
            or found.error is not None
            or not found.partitions
            or any(p.leader < 0 for p in found.partitions.values())
        ):
            missing.append(topic)
    return missing


def wait_until_ready(admin: Any, bootstrap: str, topics: list[str], timeout: float) -> Mapping[str, Any]:
    """Poll the brokers' metadata until it shows ``topics`` ready (``not_ready``); return it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            metadata = admin.list_topics(timeout=timeout).topics
        except KafkaException as exc:
            raise KafkaUnavailable(f"lost Kafka at {bootstrap} while creating topics ({exc.args[0]})") from exc
        missing = not_ready(metadata, topics)
        if not missing:
            return metadata
        if time.monotonic() > deadline:
            raise TopicsNotReady(
                f"created topic(s) {', '.join(missing)} on Kafka at {bootstrap}, but after {timeout:.0f} s the "
                "brokers still do not show their partitions, each with a leader. Check the brokers "
                "(`lineage stack status` for the local stack) and start again."
            )
        time.sleep(METADATA_POLL_SECONDS)
