"""Every metric the product exports, defined once (docs/operations.md lists them with their meaning).

Each long-running component is its own process with its own ``/metrics`` port
(``observability.server``): ``register`` puts the metrics of that component (``COMPONENT``) in
prometheus-client's default registry, beside Python's process and GC metrics. Metrics not
registered still count, unseen (unit tests). Names follow
Prometheus conventions: counters end in ``_total``, durations are ``_seconds`` histograms, and
label values come from small fixed sets (topics, reasons, kinds, states, routes, status codes).
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Info, disable_created_metrics
from prometheus_client.registry import Collector

# No ``_created`` series beside every counter and histogram: they double what a scrape carries for
# nothing an alert or a dashboard here uses.
disable_created_metrics()

# Durations from a fraction of a millisecond (a merge of one event) to tens of seconds (a Neo4j
# transaction during an outage).
SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000)

BUILD = Info("lineage_build", "The product's version and the component this process runs.", registry=None)

# Kafka, every component.
RECORDS_CONSUMED = Counter(
    "lineage_records_consumed_total", "Kafka records this process read, by topic.", ["topic"], registry=None
)
RECORDS_PRODUCED = Counter(
    "lineage_records_produced_total",
    "Kafka records this process sent, by topic (the ingest counts an event once Kafka acknowledged it).",
    ["topic"],
    registry=None,
)
DEAD_LETTERS = Counter(
    "lineage_dead_letters_total",
    "Records this process dead-lettered, by dead-letter topic and reason (docs/accepted-events.md lists them).",
    ["topic", "reason"],
    registry=None,
)
# lineage_consumer_lag{group, topic, partition} is read from the brokers at scrape time
# (observability.lag.LagCollector).
LAG_READ_ERRORS = Counter(
    "lineage_consumer_lag_read_errors_total",
    "Times the brokers did not answer the consumer-lag query.",
    registry=None,
)
READY = Gauge("lineage_ready", "1 when this component is ready (connected, assigned), else 0.", registry=None)

# lineage ingest.
INGEST_REQUESTS = Counter(
    "lineage_ingest_requests_total",
    "Events POSTed to the HTTP endpoint, by response status.",
    ["status"],
    registry=None,
)
INGEST_SECONDS = Histogram(
    "lineage_ingest_request_seconds",
    "Time from request to response on the HTTP endpoint (201s include Kafka's acknowledgement).",
    buckets=SECONDS_BUCKETS,
    registry=None,
)

# lineage process.
EVENTS_ROUTED = Counter(
    "lineage_events_routed_total", "Valid events the processor put on the runs topic.", registry=None
)
RUN_EVENTS = Counter(
    "lineage_run_events_total",
    "Valid run events the processor routed, by the run state they report.",
    ["state"],
    registry=None,
)
LENIENCIES = Counter(
    "lineage_leniencies_total",
    "Events taken although they break the spec, by how (docs/accepted-events.md).",
    ["kind"],
    registry=None,
)
EVENTS_MERGED = Counter(
    "lineage_events_merged_total", "Events the processor merged into their run's state.", registry=None
)
MERGE_SECONDS = Histogram(
    "lineage_merge_batch_seconds",
    "Time to merge one batch of runs-topic messages; per event: rate(lineage_merge_batch_seconds_sum) / "
    "rate(lineage_events_merged_total).",
    buckets=SECONDS_BUCKETS,
    registry=None,
)
CHANGE_SETS_SENT = Counter(
    "lineage_change_sets_sent_total", "Change sets the processor sent to the graph topic.", registry=None
)
MUTATIONS_SENT = Counter(
    "lineage_mutations_sent_total", "Graph mutations the processor sent to the graph topic.", registry=None
)

# lineage sink.
SINK_TRANSACTION_MUTATIONS = Histogram(
    "lineage_sink_transaction_mutations",
    "Mutations written per Neo4j transaction.",
    buckets=SIZE_BUCKETS,
    registry=None,
)
SINK_WRITE_SECONDS = Histogram(
    "lineage_sink_write_seconds",
    "Time Neo4j took to write and commit one transaction.",
    buckets=SECONDS_BUCKETS,
    registry=None,
)
MUTATIONS_WRITTEN = Counter(
    "lineage_mutations_written_total", "Graph mutations the sink wrote to Neo4j.", registry=None
)
SINK_RETRIES = Counter(
    "lineage_sink_retries_total", "Neo4j writes the sink retried after a transient failure.", registry=None
)
NEO4J_ERRORS = Counter(
    "lineage_neo4j_errors_total",
    "Neo4j failures, by kind: the driver's error class (ServiceUnavailable, SessionExpired, ...) or the "
    "server's error classification (TransientError, ClientError, DatabaseError).",
    ["kind"],
    registry=None,
)

# lineage api.
API_REQUESTS = Counter(
    "lineage_api_requests_total",
    "Query API requests, by route and response status.",
    ["route", "status"],
    registry=None,
)
API_SECONDS = Histogram(
    "lineage_api_request_seconds",
    "Time to answer a query API request, by route.",
    ["route"],
    buckets=SECONDS_BUCKETS,
    registry=None,
)


def neo4j_error_kind(exc: BaseException) -> str:
    """A bounded label for a Neo4j failure: the server's classification when it gave a code
    (``Neo.TransientError.Transaction.DeadlockDetected`` -> ``TransientError``), else the driver's
    error class."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code.count(".") >= 2:
        return code.split(".")[1]
    return type(exc).__name__


COMMON = [BUILD, READY]
KAFKA = [RECORDS_CONSUMED, RECORDS_PRODUCED, DEAD_LETTERS, LAG_READ_ERRORS]
COMPONENT = {
    "ingest": [*COMMON, RECORDS_PRODUCED, INGEST_REQUESTS, INGEST_SECONDS],
    "process": [
        *COMMON,
        *KAFKA,
        EVENTS_ROUTED,
        RUN_EVENTS,
        LENIENCIES,
        EVENTS_MERGED,
        MERGE_SECONDS,
        CHANGE_SETS_SENT,
        MUTATIONS_SENT,
    ],
    "sink": [
        *COMMON,
        *KAFKA,
        SINK_TRANSACTION_MUTATIONS,
        SINK_WRITE_SECONDS,
        MUTATIONS_WRITTEN,
        SINK_RETRIES,
        NEO4J_ERRORS,
    ],
    "api": [*COMMON, API_REQUESTS, API_SECONDS],
}


def register(component: str, registry: CollectorRegistry = REGISTRY) -> None:
    """Export ``component``'s metrics (once; a second call is a no-op)."""
    for metric in COMPONENT[component]:
        if metric not in _registered:
            registry.register(metric)
            _registered.add(metric)


_registered: set[Collector] = set()
