"""Noticing partitions that stop moving: lag that stays while the committed offset does not."""

from __future__ import annotations

from stream_processor.stall_watch import StallWatch, Stuck


def test_a_partition_whose_committed_offset_stays_with_lag_is_stuck_for_as_long() -> None:
    watch = StallWatch()
    assert watch.observe({"p1": (842, 3381), "p2": (100, 200)}, now=0) == []
    assert watch.observe({"p1": (842, 3400), "p2": (150, 220)}, now=10) == [Stuck("p1", 842, 3400, 10)]
    assert watch.observe({"p1": (842, 3400), "p2": (190, 220)}, now=70) == [Stuck("p1", 842, 3400, 70)]


def test_moving_or_caught_up_partitions_are_not_stuck_and_start_over() -> None:
    watch = StallWatch()
    watch.observe({"p": (10, 20)}, now=0)
    assert watch.observe({"p": (11, 20)}, now=30) == []  # moved: counted again from here
    assert watch.observe({"p": (11, 25)}, now=40) == [Stuck("p", 11, 25, 10)]
    assert watch.observe({"p": (25, 25)}, now=50) == []  # caught up
    assert watch.observe({"p": (25, 30)}, now=60) == []  # new records: lag from now
    assert watch.observe({"p": (25, 30)}, now=65) == [Stuck("p", 25, 30, 5)]


def test_nothing_committed_yet_counts_as_the_start_and_forget_starts_over() -> None:
    watch = StallWatch()
    watch.observe({"p": (None, 5)}, now=0)
    assert watch.observe({"p": (None, 5)}, now=20) == [Stuck("p", None, 5, 20)]
    watch.forget()
    assert watch.observe({"p": (None, 5)}, now=30) == []
    assert watch.observe({}, now=40) == []  # partitions that went away are dropped
    assert watch.observe({"p": (None, 5)}, now=50) == []
