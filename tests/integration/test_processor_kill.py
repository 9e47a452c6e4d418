"""The fault suite's processor-kill case, three times: a processor SIGKILLed mid-stream and
restarted alone in its group on its kept RocksDB store loses nothing, stalls nowhere, and needs
no second restart (bench/faults.py; before stream_processor.faust_fixes it stalled or lost
events in about half the runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.faults import Harness, Result, suite, table
from tests.integration.components import isolated_settings

RUNS = 3
EVENTS = 8_000


def test_a_killed_processor_restarted_on_its_store_leaves_the_graph_whole(services: Any, tmp_path: Path) -> None:
    settings = isolated_settings(services, "kill", tmp_path / "home")
    harness = Harness(settings, stack_dir=tmp_path / "no-stack", count=EVENTS, seed=11, log_level="INFO")
    shown: list[str] = []

    def show(result: Result) -> None:
        shown.append(f"{result.case} #{result.run}: passed={result.passed} {result.differences} {result.logs}")

    try:
        results = suite(harness, ["processor-kill"], RUNS, show)
    finally:
        harness.close()
    if not all(r.passed for r in results):
        pytest.fail(table(results) + "\n" + "\n".join(shown), pytrace=False)
    assert [r.case for r in results] == ["undisturbed", *["processor-kill"] * RUNS]
