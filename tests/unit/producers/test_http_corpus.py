"""The OpenLineage corpus through the HTTP endpoint: every real event is taken (201), and so is
every event that can be identified, leniently (the invalid corpus's malformed facets, the hand-
written shapes of tests/corpus.py); what cannot be identified and the unfilled templates are
refused (400) with a reason; nothing refused reaches Kafka, and what is taken goes byte for byte."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from starlette.testclient import TestClient

from lineage.settings import Settings
from producers.http_ingest import create_app
from tests.corpus import ACCEPTED, REFUSED
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


def test_invalid_events_are_taken_unless_they_cannot_be_identified() -> None:
    invalid = events("invalid")
    statuses, reasons, publisher = post_all(invalid)
    # Five have a malformed facet (taken); one has no run id (refused).
    assert statuses == Counter({201: 5, 400: 1})
    assert reasons == Counter({"missing-run-id": 1})
    assert len(publisher.sent) == 5


def test_templates_are_refused_unless_they_are_whole_events() -> None:
    templates = events("templates")
    assert len(templates) == 799
    statuses, reasons, _ = post_all(templates)
    # The spec's documentation examples are whole events without a schemaURL: taken.
    assert statuses[201] == 11
    assert reasons["unresolved-placeholder"] >= 600
    assert set(reasons) <= {
        "unresolved-placeholder",
        "schema-invalid",
        "bad-event-time",
        "missing-run-id",
        "missing-job",
        "not-an-event",
    }


def test_hand_written_shapes_are_taken_and_the_broken_ones_refused_with_their_reason() -> None:
    taken = [json.dumps(case.event).encode() for case in ACCEPTED]
    statuses, _, publisher = post_all(taken)
    assert statuses == Counter({201: len(taken)})
    assert [raw for raw, _ in publisher.sent] == taken
    for case in REFUSED:
        statuses, reasons, publisher = post_all([json.dumps(case.event).encode()])
        assert (statuses, reasons, publisher.sent) == (Counter({400: 1}), Counter({case.refused: 1}), []), case.name
