"""The Faust app: two agents around the pure core.

``route`` reads ``openlineage.events`` in batches, validates each event, dead-letters the bad
ones with a reason, and re-keys the good ones by runId onto the internal runs topic. The
re-keying is what makes the processor correct whatever key or partition an integration chose:
every event of a run meets the run's state on one partition of one worker.

``merge`` reads the runs topic, folds each event into the run's state (a changelogged table,
co-partitioned with the runs topic) and sends the run's graph mutations to ``lineage.graph``.
Offsets are committed only after the producer flushed (Faust does this), so a crash means
redelivery, which the idempotent merge and mutations absorb.
"""

from __future__ import annotations

import logging
from typing import Any

import faust

from lineage.dead_letter import dead_letter
from lineage.events import InvalidEvent, decode_run_event
from lineage.graph_mapping import run_mutations
from lineage.merge import MergedRun, merge_event
from lineage.mutations import encode_mutation
from lineage.settings import Settings

logger = logging.getLogger(__name__)

ROUTE_BATCH = 500
ROUTE_WITHIN_SECONDS = 0.2


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.processor_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store=settings.processor_store,
        datadir=str(settings.home / "processor"),
        autodiscover=False,
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        consumer_auto_offset_reset="earliest",
        producer_linger_ms=10,
        producer_max_request_size=16_777_216,
        broker_commit_interval=1.0,
    )
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    events = app.topic(settings.events_topic, **raw)
    dlq = app.topic(settings.dlq_topic, **raw)
    runs = app.topic(settings.runs_topic, partitions=settings.topic_partitions, **raw)
    graph = app.topic(settings.graph_topic, **raw)
    run_table = app.Table(
        "runs",
        partitions=settings.topic_partitions,
        schema=faust.Schema(key_serializer="raw", value_serializer="json"),
    )

    @app.agent(events, name="route")
    async def route(stream: faust.StreamT) -> None:
        async for batch in stream.take_events(  # type: ignore[attr-defined]  # not in StreamT
            ROUTE_BATCH, within=ROUTE_WITHIN_SECONDS
        ):
            for event in batch:
                value = event.value or b""
                try:
                    decoded = decode_run_event(value)
                except InvalidEvent as exc:
                    msg = event.message
                    logger.warning(
                        "dead-lettered event reason=%s topic=%s partition=%s offset=%s: %s",
                        exc.reason, msg.topic, msg.partition, msg.offset, exc.message,
                    )
                    await dlq.send(
                        key=event.key,
                        value=dead_letter(
                            value, exc.reason, exc.message, msg.topic, msg.partition, msg.offset
                        ),
                    )
                    continue
                await runs.send(key=str(decoded.run.runId).encode(), value=value)

    @app.agent(runs, name="merge")
    async def merge(stream: faust.StreamT) -> None:
        # One event at a time: table writes go to the changelog partition of the event being
        # processed, so a batch spanning partitions would file state under the wrong one.
        async for event in stream.events():
            decoded = decode_run_event(event.value)
            key = str(decoded.run.runId).encode()
            stored = run_table.get(key)
            current = MergedRun.model_validate(stored) if stored is not None else None
            merged = merge_event(current, decoded)
            run_table[key] = merged.model_dump(mode="json")
            for mutation in run_mutations(merged):
                await graph.send(key=mutation.message_key().encode(), value=encode_mutation(mutation))

    return app


def all_topics(settings: Settings) -> list[str]:
    return [settings.events_topic, settings.dlq_topic, settings.runs_topic, settings.graph_topic]
