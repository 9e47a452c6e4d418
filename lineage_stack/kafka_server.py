"""Apache Kafka in KRaft mode: one combined broker+controller on 127.0.0.1.

On request (an extra port named ``sasl``) the broker also has a SASL_PLAINTEXT listener taking
SCRAM-SHA-256 and SCRAM-SHA-512, for trying the product's Kafka security settings locally; its
users are made with ``add_scram_user`` once the broker runs. The PLAINTEXT listener stays as it
is (the brokers, the stack's own probe and the default settings use it).
"""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from lineage_stack.errors import StackError
from lineage_stack.processes import port_in_use

NAME = "kafka"
LABEL = "Kafka"
READY_TIMEOUT = 90.0
KAFKA_VERSION = "4.1.2"
VERSION = KAFKA_VERSION
LOG4J_VERSION = "2.25.3"  # the log4j2 version Kafka 4.1.2 is built against
POM = "kafka.pom.xml"
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
SCRAM_ITERATIONS = 8192
# How long a new SCRAM user may take to be accepted by the SASL listener (the credential travels
# through the KRaft metadata log first).
SCRAM_READY_TIMEOUT = 30.0


def pom_versions() -> dict[str, str]:
    return {"KAFKA_VERSION": KAFKA_VERSION, "LOG4J_VERSION": LOG4J_VERSION}


def marker(home: Path) -> str:
    """The exact command-line argument that identifies this folder's Kafka process."""
    return str(home / "server.properties")


def ports(port: int, extra: dict[str, int]) -> dict[str, int]:
    sasl = {"Kafka SASL": extra["sasl"]} if extra.get("sasl") else {}
    return {"Kafka": port, "Kafka controller": extra["controller"], **sasl}


def prepare(java: str, lib: Path, home: Path, port: int, extra: dict[str, int]) -> list[str]:
    """Write the config, format the storage once, and return the server's command line."""
    write_config(home, port, extra["controller"], extra.get("sasl"))
    format_storage(java, lib, home)
    return server_command(java, lib, home)


def write_config(home: Path, port: int, controller_port: int, sasl_port: int | None = None) -> Path:
    """Write server.properties and log4j2.yaml under ``home``; returns the properties path.
    ``sasl_port`` adds the SASL_PLAINTEXT (SCRAM) listener."""
    home.mkdir(parents=True, exist_ok=True)
    props = home / "server.properties"
    sasl = f",SASL_PLAINTEXT://127.0.0.1:{sasl_port}" if sasl_port else ""
    scram = (
        [
            f"sasl.enabled.mechanisms={','.join(SCRAM_MECHANISMS)}",
            *(
                f"listener.name.sasl_plaintext.{m.lower()}.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                for m in SCRAM_MECHANISMS
            ),
        ]
        if sasl_port
        else []
    )
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}{sasl}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}{sasl}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
                + (",SASL_PLAINTEXT:SASL_PLAINTEXT" if sasl_port else ""),
                *scram,
                f"log.dirs={home / 'data'}",
                "num.partitions=1",
                "auto.create.topics.enable=true",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "message.max.bytes=16777216",
                "",
            ]
        )
    )
    (home / "log4j2.yaml").write_text(
        "Configuration:\n"
        "  Appenders:\n"
        "    Console:\n"
        "      name: STDOUT\n"
        "      PatternLayout:\n"
        '        pattern: "[%d] %p %m (%c)%n"\n'
        "  Loggers:\n"
        "    Root:\n"
        "      level: INFO\n"
        "      AppenderRef:\n"
        "        - ref: STDOUT\n"
    )
    return props


def new_cluster_id() -> str:
    """A random cluster id as Kafka makes them: URL-safe base64 of a UUID, never starting with
    "-" (the storage tool would read that as an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def format_storage(java: str, lib: Path, home: Path) -> None:
    """Format the KRaft storage once; the cluster id is kept beside the data."""
    id_file = home / "cluster.id"
    if not id_file.exists():
        id_file.write_text(new_cluster_id())
    cmd = [
        java,
        "-cp",
        f"{lib}/*",
        f"-Dlog4j2.configurationFile={home / 'log4j2.yaml'}",
        "kafka.tools.StorageTool",
        "format",
        "-t",
        id_file.read_text().strip(),
        "-c",
        str(home / "server.properties"),
        "--ignore-formatted",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(
            f"formatting Kafka storage in {home / 'data'} failed (exit {result.returncode}); "
            f"remove that folder or use a fresh --data-dir.\n{(result.stdout + result.stderr)[-3000:]}"
        )


def server_command(java: str, lib: Path, home: Path) -> list[str]:
    return [
        java,
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={home / 'log4j2.yaml'}",
        f"-Dkafka.logs.dir={home / 'logs'}",
        "-cp",
        f"{lib}/*",
        "kafka.Kafka",
        str(home / "server.properties"),
    ]


def probe(port: int) -> bool:
    """One readiness check: an AdminClient can list topics."""
    from confluent_kafka.admin import AdminClient

    if not port_in_use(port):
        return False
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}", "log_level": 0})
    try:
        admin.list_topics(timeout=2)
    except Exception:  # noqa: BLE001 - any failure here only means "not ready yet"
        return False
    return True


def add_scram_user(port: int, sasl_port: int, user: str, password: str, timeout: float = SCRAM_READY_TIMEOUT) -> None:
    """Create (or give a new password to) ``user`` for both SCRAM mechanisms, through the PLAINTEXT
    listener on ``port``, and wait until the SASL listener on ``sasl_port`` accepts it."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import (
        AdminClient,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}", "log_level": 0})
    upserts = [
        UserScramCredentialUpsertion(
            user, ScramCredentialInfo(getattr(ScramMechanism, m.replace("-", "_")), SCRAM_ITERATIONS), password.encode()
        )
        for m in SCRAM_MECHANISMS
    ]
    try:
        for upsert in upserts:  # one request each: Kafka refuses two changes to one user in a request
            for future in admin.alter_user_scram_credentials([upsert], request_timeout=timeout).values():
                future.result()
    except KafkaException as exc:
        raise StackError(f"Kafka did not create the SCRAM user {user!r}: {exc.args[0]}") from exc
    deadline = time.monotonic() + timeout
    while not _sasl_login(sasl_port, user, password):
        if time.monotonic() > deadline:
            raise StackError(
                f"Kafka's SASL listener 127.0.0.1:{sasl_port} still refuses user {user!r} {timeout:.0f} s after "
                "the credentials were created; see the Kafka log"
            )
        time.sleep(0.2)


def _sasl_login(sasl_port: int, user: str, password: str) -> bool:
    """Whether a SCRAM client of ``user`` can list topics on the SASL listener."""
    from confluent_kafka.admin import AdminClient

    config: dict[str, Any] = {
        "bootstrap.servers": f"127.0.0.1:{sasl_port}",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": SCRAM_MECHANISMS[-1],
        "sasl.username": user,
        "sasl.password": password,
        "log_level": 0,
    }
    try:
        AdminClient(config).list_topics(timeout=2)
    except Exception:  # noqa: BLE001 - any failure here only means "not yet"
        return False
    return True
