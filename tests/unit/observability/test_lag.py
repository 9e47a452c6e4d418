import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from observability.lag import LagCollector, PartitionLag


@pytest.mark.parametrize(
    ("committed", "start", "end", "lag"),
    [
        (40, 0, 100, 60),
        (100, 0, 100, 0),
        (None, 0, 100, 100),  # never committed: everything still held
        (None, 30, 100, 70),
        (10, 30, 100, 70),  # committed before what retention kept
        (120, 0, 100, 0),  # never negative
    ],
)
def test_lag_is_what_follows_the_committed_offset(committed: int | None, start: int, end: int, lag: int) -> None:
    assert PartitionLag("g", "t", 0, committed, start, end).lag == lag


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _scrape(registry: CollectorRegistry) -> dict[tuple[str, str, str], float]:
    text = generate_latest(registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return {
        (s.labels["group"], s.labels["topic"], s.labels["partition"]): s.value
        for s in families["lineage_consumer_lag"].samples
    }


def test_the_collector_reads_the_brokers_at_most_every_interval_and_keeps_the_last_figures_when_they_fail() -> None:
    answers: list[object] = [
        [PartitionLag("sink", "graph", 0, 5, 0, 9), PartitionLag("sink", "graph", 1, None, 0, 3)],
        RuntimeError("brokers down"),
        [PartitionLag("sink", "graph", 0, 9, 0, 9)],
    ]
    calls = 0

    def read() -> list[PartitionLag]:
        nonlocal calls
        answer = answers[calls]
        calls += 1
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    clock = Clock()
    registry = CollectorRegistry()
    registry.register(LagCollector(read, min_interval=5, clock=clock))
    assert calls == 0  # registering does not ask the brokers
    assert _scrape(registry) == {("sink", "graph", "0"): 4, ("sink", "graph", "1"): 3}
    clock.now = 4
    assert _scrape(registry) == {("sink", "graph", "0"): 4, ("sink", "graph", "1"): 3}
    assert calls == 1
    clock.now = 5
    assert _scrape(registry) == {("sink", "graph", "0"): 4, ("sink", "graph", "1"): 3}  # the failure: last figures
    clock.now = 10
    assert _scrape(registry) == {("sink", "graph", "0"): 0}
    assert calls == 3
