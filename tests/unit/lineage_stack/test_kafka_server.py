"""The local Kafka's server.properties, with and without the SASL (SCRAM) listener."""

from __future__ import annotations

from pathlib import Path

from lineage_stack import kafka_server, stack


def properties(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def test_the_default_broker_has_only_its_plaintext_listener(tmp_path: Path) -> None:
    props = properties(kafka_server.write_config(tmp_path, 9092, 9093))
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert props["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert not [key for key in props if "sasl" in key]
    assert kafka_server.ports(9092, {"controller": 9093}) == {"Kafka": 9092, "Kafka controller": 9093}


def test_a_sasl_port_adds_a_scram_listener_beside_plaintext(tmp_path: Path) -> None:
    props = properties(kafka_server.write_config(tmp_path, 9092, 9093, 9094))
    assert props["listeners"] == (
        "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,SASL_PLAINTEXT://127.0.0.1:9094"
    )
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9094"
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["listener.security.protocol.map"].endswith(",SASL_PLAINTEXT:SASL_PLAINTEXT")
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-256,SCRAM-SHA-512"
    for mechanism in ("scram-sha-256", "scram-sha-512"):
        assert props[f"listener.name.sasl_plaintext.{mechanism}.sasl.jaas.config"] == (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        )
    assert kafka_server.ports(9092, {"controller": 9093, "sasl": 9094})["Kafka SASL"] == 9094


def test_the_state_names_the_sasl_listener_only_when_there_is_one() -> None:
    state = stack._default_state()
    assert state.kafka_sasl_bootstrap is None
    state.kafka.extra_ports["sasl"] = 19094
    assert state.kafka_sasl_bootstrap == "127.0.0.1:19094"


def test_the_stack_config_does_not_show_the_password(tmp_path: Path) -> None:
    config = stack.StackConfig(tmp_path, tmp_path, kafka_sasl_user="u", kafka_sasl_password="pw-secret")
    assert "pw-secret" not in repr(config)
    assert config.requested("kafka") == (None, {"controller": None, "sasl": None})
