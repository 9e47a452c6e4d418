"""Consumer lag of the pipeline's groups, read from the brokers: for each partition the group
reads, the records after its committed offset.

Read broker-side (the group's committed offsets against the partitions' ends), as Kafka's own
tools and lag exporters do, so it is known for a group none of whose members is running: a
stopped sink's lag keeps rising on every processor's ``/metrics`` and in ``lineage status``.
A group that never committed on a partition lags by everything the partition still holds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, IsolationLevel, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from lineage.settings import Settings
from observability import metrics
from producers.topics import QUIET_CLIENT

LAG_HELP = (
    "Records on a partition after a consumer group's committed offset, read from the brokers (every "
    "processor and sink reports every group of the pipeline: aggregate with max)."
)


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group never committed here
    start: int  # the partition's first offset still held
    end: int  # its last stable offset

    @property
    def lag(self) -> int:
        read_from = self.start if self.committed is None else max(self.committed, self.start)
        return max(self.end - read_from, 0)


COMMITTED_HELP = (
    "A consumer group's committed offset on a partition, read from the brokers (absent while it has "
    "committed nothing there): lag that stays while this does not move is a stalled consumer."
)


def kafka_config(settings: Settings) -> dict[str, Any]:
    """The lag reader's client settings: quiet, since a broker that does not answer is counted
    (``lineage_consumer_lag_read_errors_total``), not logged at every retry."""
    return {**settings.kafka_client_config(), **QUIET_CLIENT}


def export_pipeline_lag(settings: Settings) -> None:
    """Put the pipeline's consumer lag on this process's /metrics, read in the background."""
    reader = LagReader(kafka_config(settings))
    REGISTRY.register(LagCollector(lambda: reader.read(pipeline_groups(settings))).start())


def pipeline_groups(settings: Settings) -> list[tuple[str, list[str]]]:
    """The pipeline's consumer groups and the topics each reads."""
    return [
        (settings.processor_group, [settings.events_topic, settings.runs_topic]),
        (settings.sink_group, [settings.graph_topic]),
    ]


class LagReader:
    """Committed offsets come from a consumer of each group that never joins it (``committed``),
    not from the admin API: librdkafka's admin client crashes the process (SIGSEGV in its
    OffsetFetch handling, confluent-kafka-python #1982 and #2118) when a group's coordinator is
    not ready yet, as on a young cluster."""

    def __init__(self, kafka_config: Mapping[str, Any], timeout: float = 5.0) -> None:
        self._config = dict(kafka_config)
        self._admin = AdminClient(self._config)
        self._consumers: dict[str, Consumer] = {}
        self._timeout = timeout

    def partitions(self, topics: Iterable[str]) -> dict[str, int]:
        """The partition count of each of ``topics`` that exists."""
        wanted = set(topics)
        found = self._admin.list_topics(timeout=self._timeout).topics
        return {name: len(meta.partitions) for name, meta in found.items() if name in wanted and not meta.error}

    def ends(self, tps: Sequence[TopicPartition], spec: OffsetSpec) -> dict[tuple[str, int], int]:
        if not tps:
            return {}
        futures = self._admin.list_offsets(
            {tp: spec for tp in tps}, isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=self._timeout
        )
        return {(tp.topic, tp.partition): f.result(timeout=self._timeout).offset for tp, f in futures.items()}

    def read(self, groups: Sequence[tuple[str, Sequence[str]]]) -> list[PartitionLag]:
        counts = self.partitions(t for _, topics in groups for t in topics)
        tps = [TopicPartition(t, p) for t, n in counts.items() for p in range(n)]
        ends = self.ends(tps, OffsetSpec.latest())
        starts = self.ends(tps, OffsetSpec.earliest())
        out: list[PartitionLag] = []
        for group, topics in groups:
            mine = [TopicPartition(tp.topic, tp.partition) for tp in tps if tp.topic in topics]
            if not mine:
                continue
            consumer = self._consumers.get(group)
            if consumer is None:
                consumer = self._consumers[group] = Consumer(
                    {**self._config, "group.id": group, "enable.auto.commit": False}
                )
            committed = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(mine, timeout=self._timeout)}
            for tp in mine:
                place = (tp.topic, tp.partition)
                offset = committed.get(place, -1)
                known = offset if offset >= 0 else None
                out.append(PartitionLag(group, tp.topic, tp.partition, known, starts[place], ends[place]))
        return out

    def count(self, topic: str) -> int:
        """How many records ``topic`` holds (0 when it does not exist): a dead-letter topic's size."""
        n = self.partitions([topic]).get(topic, 0)
        tps = [TopicPartition(topic, p) for p in range(n)]
        ends, starts = self.ends(tps, OffsetSpec.latest()), self.ends(tps, OffsetSpec.earliest())
        return sum(max(ends[k] - starts[k], 0) for k in ends)


class LagCollector(Collector):
    """``lineage_consumer_lag`` as last read: a background thread reads the brokers every
    ``interval`` seconds, so a scrape never waits for them. When they do not answer, the last
    figures stay and ``lineage_consumer_lag_read_errors_total`` rises."""

    def __init__(self, read: Callable[[], list[PartitionLag]], interval: float = 5.0) -> None:
        self._read = read
        self._interval = interval
        self._last: list[PartitionLag] = []

    def refresh(self) -> None:
        try:
            self._last = self._read()
        except Exception:  # noqa: BLE001  # KafkaException, a timeout: keep the last figures
            metrics.LAG_READ_ERRORS.inc()

    def start(self) -> LagCollector:
        def loop() -> None:
            while True:
                self.refresh()
                time.sleep(self._interval)

        threading.Thread(target=loop, name="consumer-lag", daemon=True).start()
        return self

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag, committed = self._families()
        for row in self._last:
            labels = [row.group, row.topic, str(row.partition)]
            lag.add_metric(labels, row.lag)
            if row.committed is not None:
                committed.add_metric(labels, row.committed)
        yield lag
        yield committed

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        labels = ["group", "topic", "partition"]
        return (
            GaugeMetricFamily("lineage_consumer_lag", LAG_HELP, labels=labels),
            GaugeMetricFamily("lineage_consumer_committed_offset", COMMITTED_HELP, labels=labels),
        )
