"""``lineage process``: run one processor worker until it is told to stop."""

from __future__ import annotations

import faust

from lineage.settings import Settings
from producers.topics import KafkaUnavailable, ensure_settings_topics
from stream_processor.app import all_topics, create_app


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


def run_worker(settings: Settings) -> None:
    processor = create_app(settings)
    counts = prepare_topics(settings, processor.run_table.changelog_topic.get_topic_name())
    processor.partitions.runs, processor.partitions.graph = counts[settings.runs_topic], counts[settings.graph_topic]
    (settings.home / "processor").mkdir(parents=True, exist_ok=True)
    worker = faust.Worker(processor.app, loglevel=settings.log_level, quiet=True)
    # Faust's terminal spinner, installed at WARNING and above, sets the root logger to DEBUG so
    # that every debug record (aiokafka logs one per message sent) is built and then dropped.
    worker.spinner = None
    worker.execute_from_commandline()
