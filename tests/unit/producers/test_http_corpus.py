"""The OpenLineage corpus through the HTTP endpoint: every real event is taken (201), every
invalid event and every template is refused (400) with a reason; nothing refused reaches Kafka."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from starlette.testclient import TestClient

from lineage.settings import Settings
from producers.http_ingest import create_app
from tests.unit.producers.test_http_ingest import FakePublisher

OPENLINEAGE = Path(__file__).resolve().parents[4] / "shared" / "openlineage" / "events"


def events(group: str) -> list[bytes]:
    out = []
    for path in sorted((OPENLINEAGE / group).rglob("*.json")):
        data = json.loads(path.read_text())
        out += [json.dumps(e).encode() for e in (data if isinstance(data, list) else [data])]
    return out


def post_all(raws: list[bytes]) -> tuple[Counter[int], Counter[str], FakePublisher]:
    publisher = FakePublisher()
    statuses: Counter[int] = Counter()
    reasons: Counter[str] = Counter()
    with TestClient(create_app(Settings(), publisher)) as client:
        for raw in raws:
            response = client.post("/api/v1/lineage", content=raw, headers={"Content-Type": "application/json"})
            statuses[response.status_code] += 1
            if response.status_code != 201:
                reasons[response.json()["reason"]] += 1
    return statuses, reasons, publisher


def test_real_events_are_all_taken_byte_for_byte() -> None:
    real = events("real")
    statuses, _, publisher = post_all(real)
    assert statuses == Counter({201: len(real)})
    assert [raw for raw, _ in publisher.sent] == real


def test_invalid_events_and_templates_are_all_refused_with_a_reason() -> None:
    bad = events("invalid") + events("templates")
    assert len(bad) == 6 + 799
    statuses, reasons, publisher = post_all(bad)
    assert statuses == Counter({400: len(bad)})
    assert publisher.sent == []
    assert reasons["unresolved-placeholder"] >= 600
    assert set(reasons) <= {
        "unresolved-placeholder",
        "schema-invalid",
        "bad-event-time",
        "missing-run-id",
        "bad-run-id",
        "not-an-event",
    }
