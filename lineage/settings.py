"""The one settings object, built at the entry points from ``LINEAGE_*`` variables and flags.

Library code receives a ``Settings`` and never reads the environment itself. Defaults point at
the local stack (``lineage stack up``) on loopback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

ENV_PREFIX = "LINEAGE_"

DEFAULT_KAFKA_PORT = 9092
DEFAULT_KAFKA_CONTROLLER_PORT = 9093
DEFAULT_NEO4J_BOLT_PORT = 7687

NEO4J_SCHEMES = frozenset({"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"})
KAFKA_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")
PROCESSOR_STORES = ("rocksdb://", "memory://")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kafka_bootstrap: str = f"127.0.0.1:{DEFAULT_KAFKA_PORT}"
    neo4j_uri: str = f"bolt://127.0.0.1:{DEFAULT_NEO4J_BOLT_PORT}"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str = "neo4j"

    events_topic: str = "openlineage.events"
    dlq_topic: str = "openlineage.events.dlq"
    runs_topic: str = "lineage.runs"
    graph_topic: str = "lineage.graph"
    graph_dlq_topic: str = "lineage.graph.dlq"
    topic_partitions: int = Field(default=6, ge=1)
    # Replicas of each topic the product creates; -1: the brokers' default.replication.factor.
    topic_replication: int = Field(default=-1, ge=-1)

    processor_group: str = "lineage-processor"
    sink_group: str = "lineage-sink"
    # Where a processor worker keeps its run state: on disk (RocksDB, under <home>/processor),
    # so memory stays bounded however many runs there are; the Kafka changelog is the backup.
    processor_store: str = "rocksdb://"
    # How long a worker that died without leaving (SIGKILL, lost host) keeps its partitions
    # before the group gives them to the others. Shorter: faster take-over; longer: fewer
    # needless rebalances on slow networks.
    processor_session_timeout: float = Field(default=30.0, ge=6.0)
    # A partition with records waiting whose committed offset has not moved for this long makes the
    # worker exit (status 70) for its supervisor to restart it; a warning comes at half. 0: never.
    processor_stall_timeout: float = Field(default=120.0, ge=0.0)
    # Kafka static group membership (group.instance.id): a worker restarted with the same id takes
    # its partitions back at once instead of after the session timeout. Empty: derived from the
    # host name and LINEAGE_HOME (processor) or a slot of LINEAGE_HOME (sink); "none": off.
    processor_instance_id: str = ""
    sink_instance_id: str = ""
    sink_batch_size: int = Field(default=1000, ge=1)

    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(default=5050, ge=1, le=65535)
    # The read-only query API (lineage api).
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=5051, ge=1, le=65535)
    # Comma-separated Bearer keys the HTTP endpoint accepts; empty means no authentication.
    ingest_api_keys: SecretStr = SecretStr("")
    # Events larger than this are refused (HTTP 413) or dead-lettered (reason too-large). At most
    # 8 MiB, so that a dead letter (the event in base64) fits in a Kafka message.
    max_event_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=8 * 1024 * 1024)

    home: Path = Path(".lineage")
    stack_data_dir: Path = Path(".lineage/stack")  # default: <home>/stack
    cache_dir: Path = Path(".lineage/cache")  # default: <home>/cache
    log_level: str = "INFO"

    @field_validator("neo4j_uri")
    @classmethod
    def _neo4j_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in NEO4J_SCHEMES:
            raise ValueError(
                f"{value!r} is not a Neo4j URI; use bolt://HOST:PORT or neo4j://HOST:PORT "
                f"(schemes: {', '.join(sorted(NEO4J_SCHEMES))})"
            )
        return value

    @field_validator(
        "events_topic", "dlq_topic", "runs_topic", "graph_topic", "graph_dlq_topic", "processor_group", "sink_group"
    )
    @classmethod
    def _kafka_name(cls, value: str) -> str:
        if not KAFKA_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid Kafka name: use 1-249 of a-z A-Z 0-9 . _ -")
        return value

    @field_validator("topic_replication")
    @classmethod
    def _replication(cls, value: int) -> int:
        if value == 0:
            raise ValueError("0 is not a replication factor; use 1 or more, or -1 for the brokers' default")
        return value

    @field_validator("processor_store")
    @classmethod
    def _store(cls, value: str) -> str:
        if value not in PROCESSOR_STORES:
            raise ValueError(f"{value!r} is not a processor store; use {' or '.join(PROCESSOR_STORES)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap(cls, value: str) -> str:
        if not value.strip() or any(":" not in part for part in value.split(",")):
            raise ValueError(f"{value!r} is not a bootstrap list; use HOST:PORT[,HOST:PORT...]")
        return value

    @model_validator(mode="before")
    @classmethod
    def _dirs_under_home(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("home") is not None:
            home = Path(values["home"])
            values.setdefault("stack_data_dir", home / "stack")
            values.setdefault("cache_dir", home / "cache")
        return values

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Settings from ``LINEAGE_<FIELD>`` variables, then explicit overrides (flags).

        Raises SettingsError naming the variable and what is wrong with it.
        """
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENV_PREFIX}{'.'.join(str(p) for p in err['loc']).upper()}: "
                + err["msg"].removeprefix("Value error, ")
                for err in exc.errors()
            )
            raise SettingsError(f"invalid configuration: {problems}") from exc

    def describe(self) -> dict[str, Any]:
        """The settings as printable data, secrets masked."""
        return self.model_dump(mode="json") | {
            "neo4j_password": "***" if self.neo4j_password.get_secret_value() else "",
            "ingest_api_keys": "***" if self.ingest_api_keys.get_secret_value() else "",
        }

    @property
    def api_keys(self) -> frozenset[str]:
        raw = self.ingest_api_keys.get_secret_value()
        return frozenset(k.strip() for k in raw.split(",") if k.strip())

    @property
    def neo4j_auth(self) -> tuple[str, str] | None:
        password = self.neo4j_password.get_secret_value()
        return (self.neo4j_user, password) if password else None

    @property
    def neo4j_driver_options(self) -> dict[str, Any]:
        """Keyword arguments for ``neo4j.GraphDatabase.driver``: the credentials, and no server
        notifications (they are for query authors: "constraint already exists" at every sink
        start, "property key does not exist" on a young graph)."""
        return {"auth": self.neo4j_auth, "notifications_min_severity": "OFF"}


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message says which and why."""
