"""Which of one dataset's writes root cause names, and why (the Python half of ``root_cause``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queries.root_cause import Cause, Write, suspicious_writes


def write(
    run: str, ended: str, state: str = "COMPLETED", schema: str | None = None, change: str | None = None
) -> Write:
    cause = Cause(
        runId=run,
        job={"namespace": "ns", "name": "job"},
        state=state,
        startedAt=None,
        endedAt=f"2026-11-{ended}T00:00:00+00:00",
        errorMessage=None,
        dataset={"namespace": "db", "name": "t"},
        hops=1,
    )
    return Write(cause, schema, change)


def named(causes: list[Cause]) -> list[tuple[str, list[str]]]:
    return [(c.runId, c.reasons) for c in causes]


def test_failures_and_aborts_are_named_latest_first() -> None:
    writes = [write("a", "01", "FAILED"), write("b", "02"), write("c", "03", "ABORTED")]
    assert named(suspicious_writes(writes, 10)) == [("c", ["ABORTED"]), ("a", ["FAILED"])]


def test_a_write_whose_columns_differ_from_the_previous_schema_changed_it() -> None:
    writes = [
        write("first", "01", schema="s1"),  # the first schema known: nothing to compare with
        write("same", "02", schema="s1"),
        write("none", "03"),  # wrote without a schema facet: compared past it
        write("new", "04", schema="s2"),
        write("broken", "05", "FAILED", schema="s3"),
    ]
    assert named(suspicious_writes(writes, 10)) == [
        ("broken", ["FAILED", "SCHEMA_CHANGED"]),
        ("new", ["SCHEMA_CHANGED"]),
    ]


def test_a_failed_writes_columns_are_no_baseline() -> None:
    writes = [
        write("good", "01", schema="s1"),
        write("broken", "02", "FAILED", schema="s2"),
        write("next", "03", schema="s1"),
    ]
    assert named(suspicious_writes(writes, 10)) == [("broken", ["FAILED", "SCHEMA_CHANGED"])]  # "next" is as "good"


def test_declared_alter_and_drop_count_other_lifecycle_changes_do_not() -> None:
    writes = [write("o", "01", change="OVERWRITE"), write("a", "02", change="ALTER"), write("d", "03", change="DROP")]
    assert named(suspicious_writes(writes, 10)) == [("d", ["DROP"]), ("a", ["ALTER"])]


def test_only_the_recent_writes_are_named_but_the_one_before_them_is_compared() -> None:
    writes = [
        write("old", "01", schema="s1"),
        write("older", "00", "FAILED"),
        write("w2", "02", schema="s2"),
        write("w3", "03", schema="s2"),
    ]
    assert named(suspicious_writes(writes, 2)) == [("w2", ["SCHEMA_CHANGED"])]  # "old" and "older" are outside the 2


@given(
    st.permutations([write(str(i), f"{i + 1:02d}", s, f"s{i % 3}") for i, s in enumerate(["FAILED", "COMPLETED"] * 4)])
)
def test_the_answer_does_not_depend_on_the_order_the_graph_returned_the_writes(writes: list[Write]) -> None:
    assert suspicious_writes(writes, 5) == suspicious_writes(sorted(writes, key=lambda w: w.cause.runId), 5)


@pytest.mark.parametrize("recent", [1, 3, 10])
def test_never_more_than_recent(recent: int) -> None:
    writes = [write(str(i), f"{i + 1:02d}", "FAILED") for i in range(8)]
    assert len(suspicious_writes(writes, recent)) == min(recent, 8)
