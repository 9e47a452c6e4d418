"""Replaying events from files: what is sent, what is rejected, what is reported."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

import producers.replay as replay_module
from lineage.events import Decoded, InvalidEvent
from producers.event_files import EXAMPLES, Item, Problem, iter_events
from producers.publisher import DeliveryFailed
from producers.replay import ProgressLine, Summary, format_summary, replay
from tests.unit.factories import run_event_dict
from tests.unit.producers.test_event_files import write

VALID = json.dumps(run_event_dict("START")).encode()
VALID_2 = json.dumps(run_event_dict("COMPLETE", "2024-01-01T11:00:00+00:00")).encode()


# --- replay ----------------------------------------------------------------------------------


class FakePublisher:
    def __init__(self, errors: list[tuple[str | None, str]] | None = None, failed: int | None = None) -> None:
        self.batches: list[list[bytes]] = []
        self.flushes = 0
        self.errors = errors
        self.failed = len(errors or []) if failed is None else failed  # what DeliveryFailed counts

    @property
    def sent(self) -> list[bytes]:
        return [raw for batch in self.batches for raw in batch]

    def publish(self, events: Iterable[bytes]) -> int:
        batch = list(events)
        self.batches.append(batch)
        return len(batch)

    def flush(self, timeout: float = 60.0) -> int:
        self.flushes += 1
        if self.errors:
            raise DeliveryFailed(self.errors, failed=self.failed)
        return len(self.sent)


def test_valid_events_are_sent_in_batches_and_invalid_ones_rejected_with_origin(tmp_path: Path) -> None:
    write(tmp_path / "good.ndjson", b"\n".join([VALID, VALID_2, VALID, VALID_2, VALID]))
    write(tmp_path / "mixed.json", b"[" + VALID + b', {"eventType": "START"}]')
    write(tmp_path / "notes.txt", "x")
    write(tmp_path / "z.ndjson", "{oops\n")
    publisher = FakePublisher()
    summary = replay(iter_events([tmp_path]), publisher, batch_size=2)

    assert publisher.sent == [
        VALID,
        VALID_2,
        VALID,
        VALID_2,
        VALID,
        json.dumps(json.loads(VALID), separators=(",", ":")).encode(),
    ]
    assert [len(b) for b in publisher.batches] == [2, 2, 2]
    assert publisher.flushes == 1
    assert (summary.sent, summary.rejected, summary.failed) == (6, 2, 0)
    assert (summary.files.read, summary.files.skipped) == (3, 1)
    assert summary.rejected_by_reason["not-json"].examples[0].origin == f"{tmp_path / 'z.ndjson'}:1"
    # The reason for the schema problem is the validator's to choose; the origin is ours.
    [schema_reason] = set(summary.rejected_by_reason) - {"not-json"}
    assert summary.rejected_by_reason[schema_reason].examples[0].origin == f"{tmp_path / 'mixed.json'}#1"
    assert summary.exit_code == 1


def test_events_over_the_size_limit_are_rejected_as_too_large() -> None:
    big = json.dumps(run_event_dict("START", run_facets={"pad": {"x": "y" * 3000}})).encode()
    publisher = FakePublisher()
    summary = replay([Item(big, "big.json"), Item(VALID, "small.json")], publisher, max_event_bytes=2048)
    assert publisher.sent == [VALID]
    assert summary.rejected_by_reason["too-large"].count == 1


def test_all_sent_exits_zero_and_nothing_found_too() -> None:
    assert replay([Item(VALID, "a.json")], FakePublisher()).exit_code == 0
    summary = replay([], FakePublisher())
    assert (summary.sent, summary.exit_code) == (0, 0)
    assert "no events found" in format_summary(summary)


def test_without_validation_everything_with_bytes_is_sent() -> None:
    items = [
        Item(VALID, "a.json"),
        Item(b'{"eventType": "START"}', "b.json"),
        Item(b"{oops", "c.ndjson:1", Problem("not-json", "Expecting value")),
        Item(b"", "gone.json", Problem("unreadable", "Permission denied")),
    ]
    publisher = FakePublisher()
    summary = replay(items, publisher, validate=False)
    assert publisher.sent == [VALID, b'{"eventType": "START"}', b"{oops"]
    assert summary.sent == 3
    assert summary.rejected_by_reason["unreadable"].count == 1  # nothing to send
    assert set(summary.rejected_by_reason) == {"unreadable"}


def test_events_taken_leniently_are_sent_and_counted_by_kind() -> None:
    no_url = {k: v for k, v in run_event_dict("START").items() if k != "schemaURL"}
    naive = no_url | {"eventTime": "2024-01-01T10:00:00"}
    items = [Item(json.dumps(e).encode(), f"f.ndjson:{i}") for i, e in enumerate([no_url, naive, run_event_dict()])]
    publisher = FakePublisher()
    summary = replay(items, publisher)
    assert (summary.sent, summary.rejected, summary.exit_code) == (3, 0, 0)
    assert summary.lenient_by_kind == {"no-schema-url": 2, "naive-event-time": 1}
    assert summary.as_dict()["lenient_by_kind"] == {"naive-event-time": 1, "no-schema-url": 2}
    assert (
        "sent leniently (off the spec, accepted; see docs/accepted-events.md): naive-event-time 1, no-schema-url 2"
        in format_summary(summary)
    )


def test_rejections_keep_a_few_examples_per_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_decode(raw: bytes | str, max_bytes: int | None = None) -> object:
        if raw.startswith(b"bad" if isinstance(raw, bytes) else "bad"):
            raise InvalidEvent("schema-invalid", f"problem in {raw!r}")
        return Decoded(object(), frozenset())  # type: ignore[arg-type]

    monkeypatch.setattr(replay_module, "decode", fake_decode)
    items = [Item(b"bad%d" % i, f"f.ndjson:{i}") for i in range(EXAMPLES + 3)] + [Item(b"ok", "g.json")]
    summary = replay(items, FakePublisher())
    group = summary.rejected_by_reason["schema-invalid"]
    assert group.count == EXAMPLES + 3
    assert [e.origin for e in group.examples] == [f"f.ndjson:{i}" for i in range(EXAMPLES)]
    assert group.examples[0].message == "problem in b'bad0'"
    assert summary.sent == 1
    assert "... and 3 more" in format_summary(summary)


def test_delivery_failures_are_counted_not_lost() -> None:
    publisher = FakePublisher(
        errors=[("run:ns/job", "Broker: Message size too large"), (None, "2 event(s) still queued after 60s")],
        failed=1 + 2,
    )  # the refused one and the two still queued
    summary = replay([Item(VALID, f"a.ndjson:{i}") for i in range(1, 6)], publisher)
    assert (summary.sent, summary.failed, summary.exit_code) == (2, 3, 1)
    assert summary.failures[0] == "key run:ns/job: Broker: Message size too large"
    assert "failed 3 events" in format_summary(summary)


def test_what_was_queued_is_flushed_when_the_replay_breaks_off() -> None:
    def items() -> Iterable[Item]:
        yield Item(VALID, "a.ndjson:1")
        raise KeyboardInterrupt

    publisher = FakePublisher()
    summary = replay(items(), publisher)
    assert (publisher.sent, publisher.flushes) == ([VALID], 1)
    assert (summary.interrupted, summary.exit_code) == (True, 130)

    def broken() -> Iterable[Item]:
        yield Item(VALID, "a.ndjson:1")
        raise RuntimeError("disk on fire")

    publisher = FakePublisher()
    with pytest.raises(RuntimeError):
        replay(broken(), publisher)
    assert (publisher.sent, publisher.flushes) == ([VALID], 1)


# --- progress and summary --------------------------------------------------------------------


def test_progress_off_a_terminal_writes_the_final_line_only() -> None:
    stream = io.StringIO()
    replay([Item(VALID, "a.json")] * 50, FakePublisher(), progress=ProgressLine(stream))
    assert stream.getvalue().count("\n") == 1
    assert stream.getvalue().startswith("publish: 50 sent, 0 rejected, 0 failed")


def test_progress_on_a_terminal_draws_a_live_bar_then_leaves_the_final_line() -> None:
    now = [0.0]
    stream = io.StringIO()
    progress = ProgressLine(stream, live=True, clock=lambda: now[0], refresh=1000)
    progress.start()
    summary = Summary()
    for _ in range(100):  # 100 items in 1 s
        now[0] += 0.01
        summary.queued += 1
        progress.update(summary)
        time.sleep(0.001)
    progress.finish(summary)
    out = stream.getvalue()
    assert "publishing" in out and "queued" in out  # the live bar was drawn
    final = re.split(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n", out.rstrip("\n"))[-1]  # after the bar was erased
    assert final.startswith("publish: 100 sent, 0 rejected, 0 failed")
    assert "100 events/s" in final


def test_summary_for_people_and_for_json() -> None:
    summary = Summary(queued=7, seconds=2.0)
    summary.files.read, summary.files.skipped, summary.files.skipped_examples = 3, 1, ["notes.txt"]
    summary.reject("a.ndjson:4", Problem("not-json", "Expecting value (line 1, column 1)"))
    summary.reject("b.json#2", Problem("schema-invalid", "run.runId: Field required"))
    summary.reject("b.json#5", Problem("schema-invalid", "run.runId: Field required"))

    text = format_summary(summary)
    assert text.splitlines()[0] == "sent 7 events from 3 files in 2.0 s (5 events/s)"
    assert "skipped 1 other file (not .json, .jsonl or .ndjson): notes.txt" in text
    assert "rejected 3 events, not sent:" in text
    assert "  schema-invalid       2  b.json#2: run.runId: Field required" in text
    assert "b.json#5: run.runId: Field required" in text
    assert "a.ndjson:4: Expecting value (line 1, column 1)" in text

    data = json.loads(json.dumps(summary.as_dict()))
    assert data["sent"] == 7 and data["rejected"] == 3 and data["failed"] == 0
    assert data["rejected_by_reason"]["schema-invalid"] == {
        "count": 2,
        "examples": [
            {"origin": "b.json#2", "message": "run.runId: Field required"},
            {"origin": "b.json#5", "message": "run.runId: Field required"},
        ],
    }
    assert (data["files_read"], data["files_skipped"], data["skipped_files"]) == (3, 1, ["notes.txt"])
    assert data["exit_code"] == 1
