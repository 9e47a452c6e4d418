"""The processor's log of events taken leniently: the first of each kind at once, then counts."""

from __future__ import annotations

import logging

import pytest

from stream_processor.leniency_log import LeniencyLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_first_event_of_each_kind_is_logged_with_where_it_is(caplog: pytest.LogCaptureFixture) -> None:
    log = LeniencyLog(every=60, clock=Clock())
    with caplog.at_level(logging.INFO, logger="stream_processor.leniency_log"):
        log.record({"no-schema-url"}, "openlineage.events", 2, 41)
        log.record({"no-schema-url", "naive-event-time"}, "openlineage.events", 2, 42)
    firsts = [r.getMessage() for r in caplog.records]
    assert len(firsts) == 2
    assert "kind=no-schema-url topic=openlineage.events partition=2 offset=41" in firsts[0]
    assert "kind=naive-event-time topic=openlineage.events partition=2 offset=42" in firsts[1]
    assert log.totals == {"no-schema-url": 2, "naive-event-time": 1}


def test_counts_are_summarised_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = LeniencyLog(every=60, clock=clock)
    log.record({"no-schema-url"}, "t", 0, 1)
    with caplog.at_level(logging.INFO, logger="stream_processor.leniency_log"):
        clock.now = 30
        log.record({"no-schema-url"}, "t", 0, 2)
        assert caplog.records == []  # not a minute yet
        clock.now = 61
        log.record({"no-schema-url", "null-field"}, "t", 0, 3)
        clock.now = 62
        log.record({"no-schema-url"}, "t", 0, 4)
    summaries = [r.getMessage() for r in caplog.records if "in the last" in r.getMessage()]
    assert summaries == [
        "accepted leniently in the last 61 s: no-schema-url=3 null-field=1 (since start: no-schema-url=3 null-field=1)"
    ]
    assert log.totals == {"no-schema-url": 4, "null-field": 1}


def test_nothing_is_logged_for_events_taken_as_they_are(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = LeniencyLog(every=60, clock=clock)
    with caplog.at_level(logging.INFO, logger="stream_processor.leniency_log"):
        clock.now = 1000
        log.record(frozenset(), "t", 0, 1)
    assert caplog.records == []
