"""``lineage process``: run one processor worker until it is told to stop."""

from __future__ import annotations

import logging
from pathlib import Path

import faust
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from prometheus_client import REGISTRY

from lineage.settings import Settings
from observability.health import Health
from observability.lag import export_pipeline_lag, kafka_config
from observability.logs import quiet
from observability.server import serve_operations
from producers.topics import KafkaUnavailable, ensure_settings_topics
from stream_processor.app import all_topics, create_app
from stream_processor.state_check import check_saved_state


class StateTopicMismatch(KafkaUnavailable):
    """The runs topic and the run-state changelog have different partition counts."""


def prepare_topics(settings: Settings, changelog: str) -> dict[str, int]:
    """Create the processor's topics, the run-state changelog among them (compacted, as Faust would),
    so that all are in the brokers' metadata before the worker joins its group; check that the
    changelog has as many partitions as the runs topic, since a run's state lives in the changelog
    partition of its events; and say how many partitions each topic has."""
    counts = ensure_settings_topics(settings, [*all_topics(settings), changelog], compacted=[changelog])
    runs, state = counts[settings.runs_topic], counts[changelog]
    if runs != state:
        raise StateTopicMismatch(
            f"the runs topic {settings.runs_topic!r} has {runs} partitions but the run-state changelog "
            f"{changelog!r} has {state}. Each run's state is kept in the changelog partition its events "
            "arrive on, so the two must have the same count; was one of them altered or recreated? "
            f"Give both the same number of partitions (new topics get LINEAGE_TOPIC_PARTITIONS, now "
            f"{settings.topic_partitions})."
        )
    return counts


class QuietWorker(faust.Worker):
    """Faust's worker, keeping the libraries' start-up chatter out of the log (observability.logs)."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        quiet(logging.getLevelName(level))


def run_worker(settings: Settings) -> None:
    health = Health(settings.health_stuck_seconds)
    serve_operations(
        "process", settings.metrics_host, settings.processor_metrics_port, "LINEAGE_PROCESSOR_METRICS_PORT", health
    )
    processor = create_app(settings, health=health)
    changelog = processor.run_table.changelog_topic.get_topic_name()
    counts = prepare_topics(settings, changelog)
    check_saved_state(
        kafka_config(settings),
        settings.home,
        Path(processor.app.conf.tabledir),
        processor.run_table.name,
        changelog,
        counts[changelog],
    )
    processor.partitions.runs, processor.partitions.graph = counts[settings.runs_topic], counts[settings.graph_topic]
    (settings.home / "processor").mkdir(parents=True, exist_ok=True)
    if settings.processor_metrics_port:
        if settings.processor_faust_metrics:
            # Faust's own Prometheus sensor (messages in and out per topic, commit and send latency,
            # rebalances), beside the product's metrics: on request, for its cost per message.
            processor.app.monitor = PrometheusMonitor(metrics=FaustMetrics.create(REGISTRY, "lineage_faust"))
        export_pipeline_lag(settings)
    worker = QuietWorker(processor.app, loglevel=settings.log_level, quiet=True)
    # Faust's terminal spinner, installed at WARNING and above, sets the root logger to DEBUG so
    # that every debug record (aiokafka logs one per message sent) is built and then dropped.
    worker.spinner = None
    worker.execute_from_commandline()
