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


def _scrape(registry: CollectorRegistry, name: str = "lineage_consumer_lag") -> dict[tuple[str, str, str], float]:
    text = generate_latest(registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return {(s.labels["group"], s.labels["topic"], s.labels["partition"]): s.value for s in families[name].samples}


def test_a_scrape_serves_the_last_figures_read_and_keeps_them_when_the_brokers_fail() -> None:
    answers: list[object] = [
        [PartitionLag("sink", "graph", 0, 5, 0, 9), PartitionLag("sink", "graph", 1, None, 0, 3)],
        RuntimeError("brokers down"),
        [PartitionLag("sink", "graph", 0, 9, 0, 9)],
    ]

    def read() -> list[PartitionLag]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    collector = LagCollector(read)
    registry = CollectorRegistry()
    registry.register(collector)
    assert _scrape(registry) == {}  # registering and scraping do not ask the brokers
    assert len(answers) == 3
    collector.refresh()
    assert _scrape(registry) == {("sink", "graph", "0"): 4, ("sink", "graph", "1"): 3}
    committed = _scrape(registry, "lineage_consumer_committed_offset")
    assert committed == {("sink", "graph", "0"): 5}  # partition 1: never committed, so absent
    collector.refresh()  # the failure: the last figures stay
    assert _scrape(registry) == {("sink", "graph", "0"): 4, ("sink", "graph", "1"): 3}
    collector.refresh()
    assert _scrape(registry) == {("sink", "graph", "0"): 0}
