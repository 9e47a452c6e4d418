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
