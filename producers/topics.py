"""Creating the product's Kafka topics before anything reads or writes them.

Faust does not create topics it only consumes, and a consumer that starts before its topic
exists can miss it until the next metadata refresh, so every entry point calls
``ensure_topics`` first. Topics that already exist are left as they are. New topics count as
ensured only once the brokers' metadata shows all their partitions with a leader: a consumer
group formed before that sees the topic with no partitions and keeps that picture until its
next metadata refresh, five minutes later.

New topics accept records up to MAX_MESSAGE_BYTES whatever the broker's default (often 1 MB):
an event may be up to LINEAGE_MAX_EVENT_BYTES, and the change set it causes somewhat larger.

Kafka refusing the client's credentials (SASL) or its TLS handshake is ``KafkaAuthenticationFailed``,
one line naming the settings to check, raised as soon as librdkafka reports it (``first_answer``).
"""

from __future__ import annotations

import logging
import re
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
# How often, while waiting for that answer, to look whether Kafka refused the credentials.
REFUSAL_POLL_SECONDS = 0.25

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


class KafkaAuthenticationFailed(KafkaUnavailable):
    """Kafka refused the client's credentials (SASL), or the TLS handshake failed; a retry with the
    same settings will not help. The message names the settings to check."""


class ClientErrors:
    """A confluent-kafka ``error_cb`` that keeps the first authentication or TLS error.

    librdkafka retries a refused login for ever, reporting each failure only here, while the call
    waiting for the brokers just times out; ``refusal`` turns the kept error into one clear line."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.refused: KafkaError | None = None
        self._bootstrap = str(config.get("bootstrap.servers", "?"))
        self._user = config.get("sasl.username")
        self._mechanism = config.get("sasl.mechanism", "PLAIN")

    def __call__(self, error: KafkaError) -> None:
        if self.refused is None and error.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL):
            self.refused = error

    def refusal(self) -> KafkaAuthenticationFailed | None:
        """The error to raise when Kafka refused this client, else None."""
        if self.refused is None:
            return None
        if self.refused.code() == KafkaError._SSL:
            return KafkaAuthenticationFailed(
                f"the TLS handshake with Kafka at {self._bootstrap} failed ({_reason(self.refused)}): check "
                "LINEAGE_KAFKA_SSL_CA_LOCATION (the CA of the brokers' certificates), for mutual TLS "
                "LINEAGE_KAFKA_SSL_CERTIFICATE_LOCATION / LINEAGE_KAFKA_SSL_KEY_LOCATION, and that "
                "LINEAGE_KAFKA_SECURITY_PROTOCOL is what this listener speaks"
            )
        offered = re.search(r"broker's supported mechanisms: ([A-Z0-9,_-]+)", self.refused.str())
        if offered:
            return KafkaAuthenticationFailed(
                f"Kafka at {self._bootstrap} does not take SASL {self._mechanism}, only {offered.group(1)}: "
                "set LINEAGE_KAFKA_SASL_MECHANISM to one of those"
            )
        who = f"user {self._user}" if self._user else "this client"
        return KafkaAuthenticationFailed(
            f"Kafka at {self._bootstrap} refused the credentials for {who} (SASL {self._mechanism} "
            "authentication failed): check LINEAGE_KAFKA_SASL_USERNAME / LINEAGE_KAFKA_SASL_PASSWORD "
            "(and LINEAGE_KAFKA_SASL_MECHANISM)"
        )


def quiet_client_config(kafka_config: Mapping[str, Any]) -> tuple[dict[str, Any], ClientErrors]:
    """A short-lived command client's configuration: ``kafka_config`` (bootstrap.servers and the
    security settings), librdkafka's log dropped (QUIET_CLIENT), and the ``ClientErrors`` that
    collects what its log would have said about refused credentials."""
    errors = ClientErrors(kafka_config)
    return {**kafka_config, **QUIET_CLIENT, "error_cb": errors}, errors


def first_answer(client: Any, errors: ClientErrors, timeout: float, topic: str | None = None) -> Any:
    """``client.list_topics`` (of ``topic``, or all), waiting up to ``timeout`` for the brokers; raises
    KafkaAuthenticationFailed as soon as they refuse the credentials, else the KafkaException of the
    last attempt when they do not answer in time."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            wait = max(0.01, min(left, REFUSAL_POLL_SECONDS))
            return client.list_topics(timeout=wait) if topic is None else client.list_topics(topic, timeout=wait)
        except KafkaException:
            client.poll(0)  # serve error_cb: librdkafka queues the refusal there
            refusal = errors.refusal()
            if refusal is not None:
                raise refusal from None
            if time.monotonic() >= deadline:
                raise


def what_to_check(config: Mapping[str, Any]) -> str:
    """The advice for brokers that do not answer: the local stack, or, for a secured client, the
    listener (one that speaks another protocol, or refuses the client's certificate, just hangs up)."""
    protocol = str(config.get("security.protocol", "PLAINTEXT")).upper()
    if protocol == "PLAINTEXT":
        return "Start the local stack with `lineage stack up`, or set LINEAGE_KAFKA_BOOTSTRAP to your brokers."
    certificate = " and accepts this client's certificate" if "SSL" in protocol else ""
    return (
        f"Check LINEAGE_KAFKA_BOOTSTRAP, and that this listener speaks {protocol} (LINEAGE_KAFKA_SECURITY_PROTOCOL)"
        f"{certificate}."
    )


def _reason(error: KafkaError) -> str:
    """librdkafka's text without the broker prefix ("ssl://host:port/bootstrap: ")."""
    return error.str().split(": ", 1)[-1]


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int,
    replication: int = -1,
    timeout: float = 30.0,
    compacted: Iterable[str] = (),
    kafka_config: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Create those of ``topics`` that are missing (``compacted`` ones with cleanup.policy=compact;
    ``replication`` -1 takes the brokers' default.replication.factor), wait until the brokers show
    them ready, and return every topic's partition count. ``kafka_config``: the clients' security
    settings (``Settings.kafka_security_config``). Raises KafkaAuthenticationFailed when Kafka
    refuses the credentials, KafkaUnavailable when it does not answer within REACH_SECONDS."""
    config, errors = quiet_client_config({"bootstrap.servers": bootstrap, **(kafka_config or {})})
    admin = AdminClient(config)
    names = list(dict.fromkeys(topics))
    compact = set(compacted)
    try:
        existing: Mapping[str, Any] = first_answer(admin, errors, min(timeout, REACH_SECONDS)).topics
    except KafkaException as exc:
        raise KafkaUnavailable(f"cannot reach Kafka at {bootstrap} ({exc.args[0]}). {what_to_check(config)}") from exc
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
        kafka_config=settings.kafka_security_config,
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
