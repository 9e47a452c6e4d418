"""Settings from LINEAGE_* variables and flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lineage.settings import Settings, SettingsError


def test_defaults_point_at_the_local_stack() -> None:
    s = Settings()
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.neo4j_uri == "bolt://127.0.0.1:7687"
    assert s.neo4j_user == "neo4j"
    assert s.neo4j_auth is None
    assert (s.ingest_host, s.ingest_port) == ("127.0.0.1", 5050)
    assert (s.events_topic, s.dlq_topic, s.graph_topic) == (
        "openlineage.events",
        "openlineage.events.dlq",
        "lineage.graph",
    )
    assert s.stack_data_dir == s.home / "stack"
    assert s.cache_dir == s.home / "cache"


def test_from_empty_env_equals_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_from_env_reads_the_documented_variables() -> None:
    s = Settings.from_env(
        {
            "LINEAGE_KAFKA_BOOTSTRAP": "kafka-1:19092,kafka-2:19092",
            "LINEAGE_NEO4J_URI": "neo4j://graph:7687",
            "LINEAGE_NEO4J_USER": "lineage",
            "LINEAGE_NEO4J_PASSWORD": "s3cret",
            "LINEAGE_INGEST_PORT": "6060",
            "LINEAGE_SINK_BATCH_SIZE": "250",
            "LINEAGE_TOPIC_REPLICATION": "3",
            "UNRELATED": "x",
        }
    )
    assert s.kafka_bootstrap == "kafka-1:19092,kafka-2:19092"
    assert s.neo4j_uri == "neo4j://graph:7687"
    assert s.ingest_port == 6060
    assert s.sink_batch_size == 250
    assert s.topic_replication == 3
    assert s.neo4j_auth == ("lineage", "s3cret")


def test_from_env_does_not_read_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_KAFKA_BOOTSTRAP", "from-os-environ:1")
    assert Settings.from_env({}).kafka_bootstrap == "127.0.0.1:9092"


def test_empty_variables_are_ignored() -> None:
    assert Settings.from_env({"LINEAGE_INGEST_PORT": "", "LINEAGE_KAFKA_BOOTSTRAP": ""}) == Settings()


def test_overrides_beat_the_environment_and_none_overrides_are_ignored() -> None:
    env = {"LINEAGE_KAFKA_BOOTSTRAP": "env:1", "LINEAGE_NEO4J_URI": "bolt://env:2"}
    s = Settings.from_env(env, kafka_bootstrap="flag:1", neo4j_uri=None)
    assert s.kafka_bootstrap == "flag:1"
    assert s.neo4j_uri == "bolt://env:2"


def test_home_moves_stack_and_cache_dirs(tmp_path: Path) -> None:
    s = Settings.from_env({"LINEAGE_HOME": str(tmp_path / "lh")})
    assert s.home == tmp_path / "lh"
    assert s.stack_data_dir == tmp_path / "lh" / "stack"
    assert s.cache_dir == tmp_path / "lh" / "cache"


def test_explicit_dirs_beat_home(tmp_path: Path) -> None:
    s = Settings.from_env({"LINEAGE_HOME": str(tmp_path / "lh"), "LINEAGE_CACHE_DIR": str(tmp_path / "jars")})
    assert s.cache_dir == tmp_path / "jars"
    assert s.stack_data_dir == tmp_path / "lh" / "stack"


def test_home_as_an_override_moves_dirs_too(tmp_path: Path) -> None:
    s = Settings.from_env({}, home=tmp_path)
    assert s.stack_data_dir == tmp_path / "stack"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LINEAGE_INGEST_PORT", "abc"),
        ("LINEAGE_INGEST_PORT", "70000"),
        ("LINEAGE_TOPIC_PARTITIONS", "0"),
        ("LINEAGE_TOPIC_REPLICATION", "0"),
        ("LINEAGE_TOPIC_REPLICATION", "-2"),
        ("LINEAGE_MAX_EVENT_BYTES", str(8 * 1024 * 1024 + 1)),
        ("LINEAGE_SINK_BATCH_SIZE", "many"),
    ],
)
def test_invalid_value_raises_settings_error_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({variable: value})
    assert variable in str(info.value)
    assert isinstance(info.value, ValueError)


def test_describe_masks_the_password() -> None:
    s = Settings.from_env({"LINEAGE_NEO4J_PASSWORD": "hunter2-very-secret"})
    described = s.describe()
    assert described["neo4j_password"] == "***"
    assert "hunter2-very-secret" not in json.dumps(described)
    assert "hunter2-very-secret" not in repr(s)
    assert described["kafka_bootstrap"] == "127.0.0.1:9092"


def test_describe_without_password_says_so() -> None:
    assert Settings().describe()["neo4j_password"] == ""


def test_settings_are_frozen_and_reject_unknown_fields() -> None:
    with pytest.raises(ValueError):
        Settings(kafka_bootstrapp="typo:1")  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        Settings().kafka_bootstrap = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("LINEAGE_NEO4J_URI", "localhost:7687", "is not a Neo4j URI"),
        ("LINEAGE_LOG_LEVEL", "loud", "is not a log level"),
        ("LINEAGE_EVENTS_TOPIC", "a/b", "is not a valid Kafka name"),
        ("LINEAGE_SINK_GROUP", "", None),  # empty means unset: the default applies
        ("LINEAGE_KAFKA_BOOTSTRAP", "kafka", "is not a bootstrap list"),
    ],
)
def test_malformed_values_are_named_with_the_fix(variable: str, value: str, says: str | None) -> None:
    if says is None:
        assert Settings.from_env({variable: value}).sink_group == "lineage-sink"
        return
    with pytest.raises(SettingsError) as err:
        Settings.from_env({variable: value})
    assert f"{variable}: {value!r} {says}" in str(err.value)


def test_processor_store_defaults_to_rocksdb_and_refuses_unknown_stores() -> None:
    assert Settings.from_env({}).processor_store == "rocksdb://"
    assert Settings.from_env({"LINEAGE_PROCESSOR_STORE": "memory://"}).processor_store == "memory://"
    with pytest.raises(SettingsError, match="LINEAGE_PROCESSOR_STORE: 'redis://' is not a processor store"):
        Settings.from_env({"LINEAGE_PROCESSOR_STORE": "redis://"})


SCRAM_ENV = {
    "LINEAGE_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
    "LINEAGE_KAFKA_SASL_MECHANISM": "scram-sha-512",
    "LINEAGE_KAFKA_SASL_USERNAME": "lineage",
    "LINEAGE_KAFKA_SASL_PASSWORD": "kafka-very-secret",
}


def test_plaintext_kafka_adds_nothing_to_the_clients() -> None:
    s = Settings()
    assert s.kafka_security_protocol == "PLAINTEXT"
    assert s.kafka_security_config == {}
    assert s.kafka_client_config() == {"bootstrap.servers": "127.0.0.1:9092"}
    assert s.faust_broker_credentials is None


def test_sasl_ssl_gives_librdkafka_and_faust_the_same_security(tmp_path: Path) -> None:
    import ssl

    import faust
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    s = Settings.from_env(SCRAM_ENV)
    assert s.kafka_client_config() == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "lineage",
        "sasl.password": "kafka-very-secret",
    }
    credentials = s.faust_broker_credentials
    assert isinstance(credentials, faust.SASLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("lineage", "kafka-very-secret")
    assert isinstance(auth["ssl_context"], ssl.SSLContext)
    assert auth["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_sasl_plaintext_has_no_ssl_context() -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    s = Settings.from_env(SCRAM_ENV | {"LINEAGE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    assert s.kafka_security_config["security.protocol"] == "SASL_PLAINTEXT"
    auth = credentials_to_aiokafka_auth(s.faust_broker_credentials)
    assert (auth["security_protocol"], auth["ssl_context"]) == ("SASL_PLAINTEXT", None)


def test_mutual_tls_passes_the_ca_and_the_client_certificate(tmp_path: Path) -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    files = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    for path in files.values():
        path.write_text("not parsed here")
    s = Settings.from_env(
        {
            "LINEAGE_KAFKA_SECURITY_PROTOCOL": "SSL",
            "LINEAGE_KAFKA_SSL_CA_LOCATION": str(files["ca"]),
            "LINEAGE_KAFKA_SSL_CERTIFICATE_LOCATION": str(files["cert"]),
            "LINEAGE_KAFKA_SSL_KEY_LOCATION": str(files["key"]),
            "LINEAGE_KAFKA_SSL_KEY_PASSWORD": "key-secret",
        }
    )
    assert s.kafka_security_config == {
        "security.protocol": "SSL",
        "ssl.ca.location": str(files["ca"]),
        "ssl.certificate.location": str(files["cert"]),
        "ssl.key.location": str(files["key"]),
        "ssl.key.password": "key-secret",
    }
    assert s.describe()["kafka_ssl_key_password"] == "***"
    plain_tls = Settings(kafka_security_protocol="SSL")
    auth = credentials_to_aiokafka_auth(plain_tls.faust_broker_credentials)
    assert auth["security_protocol"] == "SSL"  # the system's trust store; no client certificate


def test_describe_masks_the_kafka_password() -> None:
    s = Settings.from_env(SCRAM_ENV)
    described = s.describe()
    assert described["kafka_sasl_password"] == "***"
    assert described["kafka_sasl_username"] == "lineage"
    assert "kafka-very-secret" not in json.dumps(described)
    assert "kafka-very-secret" not in repr(s)
    assert "kafka-very-secret" not in repr(s.faust_broker_credentials)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"LINEAGE_KAFKA_SECURITY_PROTOCOL": "TLS"}, "LINEAGE_KAFKA_SECURITY_PROTOCOL: 'TLS' is not supported"),
        ({"LINEAGE_KAFKA_SASL_MECHANISM": "GSSAPI"}, "LINEAGE_KAFKA_SASL_MECHANISM: 'GSSAPI' is not supported"),
        (
            {"LINEAGE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "LINEAGE_KAFKA_SASL_PASSWORD": "p"},
            "PROTOCOL=SASL_SSL needs LINEAGE_KAFKA_SASL_USERNAME and LINEAGE_KAFKA_SASL_PASSWORD",
        ),
        (
            {"LINEAGE_KAFKA_SASL_USERNAME": "u", "LINEAGE_KAFKA_SASL_PASSWORD": "p"},
            "LINEAGE_KAFKA_SECURITY_PROTOCOL is PLAINTEXT: use SASL_SSL",
        ),
        (
            {"LINEAGE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "LINEAGE_KAFKA_SSL_CA_LOCATION": "/ca.pem"}
            | {"LINEAGE_KAFKA_SASL_USERNAME": "u", "LINEAGE_KAFKA_SASL_PASSWORD": "p"},
            "LINEAGE_KAFKA_SSL_CA_LOCATION set but LINEAGE_KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT",
        ),
        (
            {"LINEAGE_KAFKA_SECURITY_PROTOCOL": "SSL", "LINEAGE_KAFKA_SSL_CERTIFICATE_LOCATION": "/c.pem"},
            "mutual TLS needs both",
        ),
        (
            {"LINEAGE_KAFKA_SECURITY_PROTOCOL": "SSL", "LINEAGE_KAFKA_SSL_CA_LOCATION": "/no/such/ca.pem"},
            "no such file: LINEAGE_KAFKA_SSL_CA_LOCATION=/no/such/ca.pem",
        ),
    ],
)
def test_kafka_security_mistakes_are_named(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert says in str(info.value)
    assert "LINEAGE_: " not in str(info.value)


def test_every_variable_the_production_guide_names_is_a_setting() -> None:
    import re

    guide = (Path(__file__).parents[3] / "docs" / "production.md").read_text()
    named = set(re.findall(r"\bLINEAGE_[A-Z0-9_]+\b(?!\*)", guide))  # not the LINEAGE_KAFKA_SSL_* family
    assert "LINEAGE_KAFKA_SASL_PASSWORD" in named
    assert sorted(n for n in named if n.removeprefix("LINEAGE_").lower() not in Settings.model_fields) == []
