"""The example events the README's tour publishes are the events the query tests run on, so the
tour's commands answer what those tests check."""

import json
from pathlib import Path

from lineage.events import decode
from tests.integration.test_queries import EVENTS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "events" / "shop.ndjson"


def test_the_example_events_are_the_query_tests_events() -> None:
    lines = EXAMPLES.read_text().splitlines()
    assert [json.loads(line) for line in lines] == EVENTS


def test_every_example_event_is_accepted() -> None:
    for line in EXAMPLES.read_text().splitlines():
        decode(line.encode())
