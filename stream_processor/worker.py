"""``lineage process``: run one processor worker until it is told to stop."""

from __future__ import annotations

import faust

from lineage.settings import Settings
from producers.topics import ensure_topics
from stream_processor.app import all_topics, create_app


def run_worker(settings: Settings) -> None:
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    (settings.home / "processor").mkdir(parents=True, exist_ok=True)
    app = create_app(settings).app
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    # Faust's terminal spinner, installed at WARNING and above, sets the root logger to DEBUG so
    # that every debug record (aiokafka logs one per message sent) is built and then dropped.
    worker.spinner = None
    worker.execute_from_commandline()
