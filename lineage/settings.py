"""The one settings object, built at the entry points from ``LINEAGE_*`` variables and flags.

Library code receives a ``Settings`` and never reads the environment itself. Defaults point at
the local stack (``lineage stack up``) on loopback.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

ENV_PREFIX = "LINEAGE_"

DEFAULT_KAFKA_PORT = 9092
DEFAULT_KAFKA_CONTROLLER_PORT = 9093
DEFAULT_NEO4J_BOLT_PORT = 7687

NEO4J_SCHEMES = frozenset({"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"})
KAFKA_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")
PROCESSOR_STORES = ("rocksdb://", "memory://")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
KAFKA_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kafka_bootstrap: str = f"127.0.0.1:{DEFAULT_KAFKA_PORT}"
    # How every Kafka client of the product talks to the brokers: PLAINTEXT (the local stack), SSL
    # (TLS; mutual TLS with the client certificate below), SASL_PLAINTEXT or SASL_SSL (a user name
    # and password; SASL_SSL is what managed clusters use).
    kafka_security_protocol: str = "PLAINTEXT"
    # For SASL_*: PLAIN (e.g. Confluent Cloud API keys), SCRAM-SHA-256 or SCRAM-SHA-512.
    kafka_sasl_mechanism: str = "PLAIN"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    # For SSL / SASL_SSL: the PEM file of the CA(s) that signed the brokers' certificates; empty:
    # the system's trust store.
    kafka_ssl_ca_location: str = ""
    # Mutual TLS (SSL / SASL_SSL): this client's certificate and private key (PEM files), and the
    # key's password if it is encrypted.
    kafka_ssl_certificate_location: str = ""
    kafka_ssl_key_location: str = ""
    kafka_ssl_key_password: SecretStr = SecretStr("")
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
    # Comma-separated Bearer keys the query API (/api/v1/*, and so the explorer) accepts: keys to
    # read the graph, separate from the ingest keys (to send events). Empty: no authentication.
    read_api_keys: SecretStr = SecretStr("")
    # Events larger than this are refused (HTTP 413) or dead-lettered (reason too-large). At most
    # 8 MiB, so that a dead letter (the event in base64) fits in a Kafka message.
    max_event_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=8 * 1024 * 1024)

    # Each long-running component's operations port: /metrics (Prometheus), /healthz, /readyz
    # (observability.server). 0 turns a component's off. Two components of one kind on one host
    # need a port each.
    metrics_host: str = "127.0.0.1"
    ingest_metrics_port: int = Field(default=9150, ge=0, le=65535)
    processor_metrics_port: int = Field(default=9151, ge=0, le=65535)
    sink_metrics_port: int = Field(default=9152, ge=0, le=65535)
    api_metrics_port: int = Field(default=9153, ge=0, le=65535)
    # Faust's own Prometheus sensor on the processor's /metrics (lineage_faust_*: messages per topic and
    # partition, send and commit latency, rebalances). Off by default: it costs about 6% of the
    # processor's CPU (bench/README.md); the product's own metrics cover throughput and lag.
    processor_faust_metrics: bool = False
    # A component whose main loop has not turned for this long reports itself unhealthy (/healthz 503).
    health_stuck_seconds: float = Field(default=120.0, ge=5.0)

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

    @field_validator("kafka_security_protocol", "kafka_sasl_mechanism")
    @classmethod
    def _kafka_choice(cls, value: str, info: ValidationInfo) -> str:
        choices = KAFKA_SECURITY_PROTOCOLS if info.field_name == "kafka_security_protocol" else KAFKA_SASL_MECHANISMS
        if value.strip().upper() not in choices:
            raise ValueError(f"{value!r} is not supported; use one of {', '.join(choices)}")
        return value.strip().upper()

    @model_validator(mode="after")
    def _kafka_security(self) -> Settings:
        protocol = self.kafka_security_protocol
        password = self.kafka_sasl_password.get_secret_value()
        if self.kafka_sasl and not (self.kafka_sasl_username and password):
            raise ValueError(
                f"LINEAGE_KAFKA_SECURITY_PROTOCOL={protocol} needs LINEAGE_KAFKA_SASL_USERNAME and "
                "LINEAGE_KAFKA_SASL_PASSWORD"
            )
        if not self.kafka_sasl and (self.kafka_sasl_username or password):
            raise ValueError(
                f"LINEAGE_KAFKA_SASL_USERNAME / LINEAGE_KAFKA_SASL_PASSWORD are set but "
                f"LINEAGE_KAFKA_SECURITY_PROTOCOL is {protocol}: use SASL_SSL (or SASL_PLAINTEXT) to send them"
            )
        files = {
            "LINEAGE_KAFKA_SSL_CA_LOCATION": self.kafka_ssl_ca_location,
            "LINEAGE_KAFKA_SSL_CERTIFICATE_LOCATION": self.kafka_ssl_certificate_location,
            "LINEAGE_KAFKA_SSL_KEY_LOCATION": self.kafka_ssl_key_location,
        }
        given = [name for name, path in files.items() if path]
        if given and not self.kafka_tls:
            raise ValueError(
                f"{' / '.join(given)} set but LINEAGE_KAFKA_SECURITY_PROTOCOL is {protocol}: use SSL or SASL_SSL"
            )
        if bool(self.kafka_ssl_certificate_location) != bool(self.kafka_ssl_key_location):
            raise ValueError(
                "mutual TLS needs both LINEAGE_KAFKA_SSL_CERTIFICATE_LOCATION and LINEAGE_KAFKA_SSL_KEY_LOCATION"
            )
        missing = [f"{name}={path}" for name, path in files.items() if path and not Path(path).is_file()]
        if missing:
            raise ValueError(f"no such file: {', '.join(missing)}")
        return self

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
                (f"{ENV_PREFIX}{'.'.join(str(p) for p in err['loc']).upper()}: " if err["loc"] else "")
                + err["msg"].removeprefix("Value error, ")
                for err in exc.errors()
            )
            raise SettingsError(f"invalid configuration: {problems}") from exc

    def describe(self) -> dict[str, Any]:
        """The settings as printable data, secrets masked."""
        return self.model_dump(mode="json") | {
            "neo4j_password": "***" if self.neo4j_password.get_secret_value() else "",
            "ingest_api_keys": "***" if self.ingest_api_keys.get_secret_value() else "",
            "read_api_keys": "***" if self.read_api_keys.get_secret_value() else "",
            "kafka_sasl_password": "***" if self.kafka_sasl_password.get_secret_value() else "",
            "kafka_ssl_key_password": "***" if self.kafka_ssl_key_password.get_secret_value() else "",
        }

    @property
    def metrics_ports(self) -> dict[str, int]:
        """Each long-running component's operations port (0: off), by the name `lineage status` and
        the metrics use; its setting is LINEAGE_<NAME>_METRICS_PORT."""
        return {
            "ingest": self.ingest_metrics_port,
            "processor": self.processor_metrics_port,
            "sink": self.sink_metrics_port,
            "api": self.api_metrics_port,
        }

    @property
    def api_keys(self) -> frozenset[str]:
        raw = self.ingest_api_keys.get_secret_value()
        return frozenset(k.strip() for k in raw.split(",") if k.strip())

    @property
    def read_keys(self) -> frozenset[str]:
        """The query API's keys (LINEAGE_READ_API_KEYS); empty: reading needs no key."""
        raw = self.read_api_keys.get_secret_value()
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

    @property
    def kafka_sasl(self) -> bool:
        return self.kafka_security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def kafka_tls(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    @property
    def kafka_security_config(self) -> dict[str, Any]:
        """The confluent-kafka (librdkafka) settings that carry the brokers' security, for every
        client the product makes: empty for PLAINTEXT. Holds the password: never log it."""
        config: dict[str, Any] = {}
        if self.kafka_security_protocol != "PLAINTEXT":
            config["security.protocol"] = self.kafka_security_protocol
        if self.kafka_sasl:
            config["sasl.mechanism"] = self.kafka_sasl_mechanism
            config["sasl.username"] = self.kafka_sasl_username
            config["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_tls:
            tls = {
                "ssl.ca.location": self.kafka_ssl_ca_location,
                "ssl.certificate.location": self.kafka_ssl_certificate_location,
                "ssl.key.location": self.kafka_ssl_key_location,
                "ssl.key.password": self.kafka_ssl_key_password.get_secret_value(),
            }
            config.update({key: value for key, value in tls.items() if value})
        return config

    def kafka_client_config(self) -> dict[str, Any]:
        """A confluent-kafka client's base configuration: ``bootstrap.servers`` and the security."""
        return {"bootstrap.servers": self.kafka_bootstrap, **self.kafka_security_config}

    @property
    def kafka_user_hint(self) -> str:
        """Says who connects, for error messages: "as user U" under SASL, else ""."""
        return f" as user {self.kafka_sasl_username}" if self.kafka_sasl else ""

    def kafka_ssl_context(self) -> ssl.SSLContext:
        """The TLS context aiokafka (Faust) uses: verifies the brokers against the CA file (else the
        system's trust store) and presents the client certificate for mutual TLS."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.kafka_ssl_ca_location or None)
        if self.kafka_ssl_certificate_location:
            context.load_cert_chain(
                self.kafka_ssl_certificate_location,
                self.kafka_ssl_key_location,
                self.kafka_ssl_key_password.get_secret_value() or None,
            )
        return context

    @property
    def faust_broker_credentials(self) -> Any:
        """Faust's ``broker_credentials`` with the same security as ``kafka_security_config`` (Faust
        derives aiokafka's security_protocol from them): ``faust.SASLCredentials`` for SASL_* (with
        an SSL context for SASL_SSL), ``faust.SSLCredentials`` for SSL, None for PLAINTEXT."""
        import faust  # only the processor needs it, and it is slow to import

        if self.kafka_sasl:
            return faust.SASLCredentials(
                username=self.kafka_sasl_username,
                password=self.kafka_sasl_password.get_secret_value(),
                ssl_context=self.kafka_ssl_context() if self.kafka_tls else None,
                mechanism=self.kafka_sasl_mechanism,
            )
        if self.kafka_tls:
            return faust.SSLCredentials(self.kafka_ssl_context())
        return None


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message says which and why."""
