"""Waiting until newly created topics are ready in the brokers' metadata (Kafka's answers faked;
tests/integration/test_processor_topics.py has the real thing)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from producers import topics
from producers.topics import TopicsNotReady, not_ready, wait_until_ready


def topic(*leaders: int, error: Any = None) -> SimpleNamespace:
    return SimpleNamespace(
        error=error, partitions={i: SimpleNamespace(leader=leader) for i, leader in enumerate(leaders)}
    )


def test_a_topic_counts_as_ready_once_it_has_partitions_each_with_a_leader() -> None:
    metadata = {
        "ready": topic(1, 1, 1),
        "other-count": topic(1),  # created elsewhere with another count: ready, the caller compares counts
        "unled": topic(1, -1, 1),  # created, a leader not yet elected
        "empty": topic(),
        "failing": topic(1, 1, 1, error="LEADER_NOT_AVAILABLE"),
    }
    assert not_ready(metadata, ["ready", "other-count", "unled", "empty", "failing", "absent"]) == [
        "unled",
        "empty",
        "failing",
        "absent",
    ]


class Admin:
    """Answers list_topics with each of ``answers`` in turn, then the last one forever."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def list_topics(self, timeout: float) -> SimpleNamespace:
        self.calls += 1
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        return SimpleNamespace(topics=answer)


def test_waits_until_the_metadata_shows_the_new_topics_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topics, "METADATA_POLL_SECONDS", 0)
    admin = Admin({}, {"t": topic(-1, 1)}, {"t": topic(1, 1)})
    metadata = wait_until_ready(admin, "kafka:9092", ["t"], timeout=30)
    assert admin.calls == 3
    assert len(metadata["t"].partitions) == 2


def test_gives_up_after_the_timeout_naming_the_topics_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topics, "METADATA_POLL_SECONDS", 0.01)
    admin = Admin({"ready": topic(1), "stuck": topic(-1)})
    with pytest.raises(TopicsNotReady) as err:
        wait_until_ready(admin, "kafka:9092", ["ready", "stuck"], timeout=0.1)
    assert admin.calls > 1
    assert "created topic(s) stuck on Kafka at kafka:9092" in str(err.value)


class RefusingClient:
    """A client whose brokers never answer; librdkafka reports ``errors`` on the next poll."""

    def __init__(self, on_error: Any, *errors: KafkaError) -> None:
        self.on_error, self.errors, self.calls = on_error, list(errors), 0

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        self.calls += 1
        raise KafkaException(
            KafkaError(KafkaError._TRANSPORT, "Failed to get metadata: Local: Broker transport failure")
        )

    def poll(self, timeout: float) -> None:
        for error in self.errors:
            self.on_error(error)


SASL_CONFIG = {
    "bootstrap.servers": "kafka-1:9096",
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "SCRAM-SHA-512",
    "sasl.username": "lineage",
    "sasl.password": "p",
}


def test_refused_credentials_are_one_clear_error_naming_the_user() -> None:
    config, errors = topics.quiet_client_config(SASL_CONFIG)
    assert config["logger"] is topics.CLIENT_LOGGER and config["error_cb"] is errors
    refused = KafkaError(
        KafkaError._AUTHENTICATION,
        "sasl_ssl://kafka-1:9096/bootstrap: SASL authentication error: Authentication failed during authentication "
        "due to invalid credentials with SASL mechanism SCRAM-SHA-512",
    )
    client = RefusingClient(errors, KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"), refused)
    with pytest.raises(topics.KafkaAuthenticationFailed) as info:
        topics.first_answer(client, errors, timeout=30)
    assert client.calls == 1  # at once, not after the timeout
    assert str(info.value) == (
        "Kafka at kafka-1:9096 refused the credentials for user lineage (SASL SCRAM-SHA-512 authentication failed): "
        "check LINEAGE_KAFKA_SASL_USERNAME / LINEAGE_KAFKA_SASL_PASSWORD (and LINEAGE_KAFKA_SASL_MECHANISM)"
    )
    assert "p" not in str(info.value).split()
    assert isinstance(info.value, topics.KafkaUnavailable)  # the commands' one-line error


def test_a_failed_tls_handshake_names_the_tls_settings() -> None:
    _, errors = topics.quiet_client_config({"bootstrap.servers": "kafka-1:9093", "security.protocol": "SSL"})
    failed = KafkaError(
        KafkaError._SSL, "ssl://kafka-1:9093/bootstrap: SSL handshake failed: certificate verify failed"
    )
    with pytest.raises(topics.KafkaAuthenticationFailed) as info:
        topics.first_answer(RefusingClient(errors, failed), errors, timeout=30)
    assert str(info.value).startswith(
        "the TLS handshake with Kafka at kafka-1:9093 failed (SSL handshake failed: certificate verify failed): "
        "check LINEAGE_KAFKA_SSL_CA_LOCATION"
    )


def test_brokers_that_do_not_answer_are_still_unreachable_after_the_timeout() -> None:
    _, errors = topics.quiet_client_config(SASL_CONFIG)
    client = RefusingClient(errors, KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
    with pytest.raises(KafkaException):
        topics.first_answer(client, errors, timeout=0.3)
    assert client.calls > 1


def test_a_mechanism_the_brokers_do_not_take_is_named_with_those_they_do() -> None:
    _, errors = topics.quiet_client_config(SASL_CONFIG | {"sasl.mechanism": "PLAIN"})
    unsupported = KafkaError(
        KafkaError._AUTHENTICATION,
        "sasl_ssl://kafka-1:9096/bootstrap: SASL PLAIN mechanism handshake failed: Broker: Unsupported SASL "
        "mechanism: broker's supported mechanisms: SCRAM-SHA-512,SCRAM-SHA-256 (after 301ms in state AUTH_HANDSHAKE)",
    )
    with pytest.raises(topics.KafkaAuthenticationFailed) as info:
        topics.first_answer(RefusingClient(errors, unsupported), errors, timeout=30)
    assert str(info.value) == (
        "Kafka at kafka-1:9096 does not take SASL PLAIN, only SCRAM-SHA-512,SCRAM-SHA-256: "
        "set LINEAGE_KAFKA_SASL_MECHANISM to one of those"
    )
