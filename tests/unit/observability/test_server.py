import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families

from observability.health import Health
from observability.server import OperationsServer, PortTaken, serve_operations


@pytest.fixture
def served() -> Iterator[tuple[OperationsServer, Health, CollectorRegistry]]:
    registry = CollectorRegistry()
    health = Health(stuck_after=60)
    server = OperationsServer("127.0.0.1", 0, health, registry).start()
    yield server, health, registry
    server.close()


def _get(server: OperationsServer, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_metrics_are_served_in_the_text_exposition_format(
    served: tuple[OperationsServer, Health, CollectorRegistry],
) -> None:
    server, _, registry = served
    counter = Counter("lineage_test_records_consumed_total", "records", ["topic"], registry=registry)
    seconds = Histogram("lineage_test_write_seconds", "writes", buckets=(0.1, 1.0), registry=registry)
    counter.labels("events").inc(3)
    seconds.observe(0.5)
    status, text = _get(server, "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["lineage_test_records_consumed"].type == "counter"
    (total,) = [s for s in families["lineage_test_records_consumed"].samples if s.name.endswith("_total")]
    assert (total.labels, total.value) == ({"topic": "events"}, 3.0)
    buckets = {
        s.labels["le"]: s.value for s in families["lineage_test_write_seconds"].samples if s.name.endswith("_bucket")
    }
    assert buckets == {"0.1": 0.0, "1.0": 1.0, "+Inf": 1.0}


def test_health_and_readiness_answer_with_status_codes_an_orchestrator_reads(
    served: tuple[OperationsServer, Health, CollectorRegistry],
) -> None:
    server, health, _ = served
    assert _get(server, "/healthz")[0] == 200
    status, body = _get(server, "/readyz")
    assert (status, json.loads(body)["status"]) == (503, "starting")
    health.ready()
    assert _get(server, "/readyz") == (200, '{"status": "ok"}')
    health.stuck("partition 2 stopped")
    assert _get(server, "/healthz")[0] == 503
    assert _get(server, "/readyz")[0] == 503
    assert _get(server, "/nothing")[0] == 404


def test_a_taken_port_names_the_setting_to_change(served: tuple[OperationsServer, Health, CollectorRegistry]) -> None:
    server, _, _ = served
    with pytest.raises(PortTaken, match="LINEAGE_SINK_METRICS_PORT to a free port, or to 0"):
        serve_operations("sink", "127.0.0.1", server.port, "LINEAGE_SINK_METRICS_PORT", Health(60))


def test_port_zero_turns_the_operations_port_off() -> None:
    assert serve_operations("sink", "127.0.0.1", 0, "LINEAGE_SINK_METRICS_PORT", Health(60)) is None
