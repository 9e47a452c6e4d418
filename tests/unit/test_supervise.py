"""``lineage run``'s supervision of its components, with real child processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from lineage_cli.main import supervise


def child(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


@pytest.fixture(autouse=True)
def default_signal_handlers() -> object:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    yield None
    signal.signal(signal.SIGINT, before[0])
    signal.signal(signal.SIGTERM, before[1])


def test_a_component_that_exits_is_named_and_its_status_returned_and_the_others_stopped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    long_running = child("import time; time.sleep(60)")
    failing = child("import time, sys; time.sleep(0.5); sys.exit(70)")
    started = time.monotonic()
    assert supervise({"ingest": long_running, "process": failing}) == 70
    assert time.monotonic() - started < 30
    assert long_running.returncode == -signal.SIGTERM
    assert "`lineage process` exited with status 70" in capsys.readouterr().err


def stop_after(seconds: float, signum: int) -> None:
    signal.signal(signal.SIGALRM, lambda *_: signal.raise_signal(signum))
    signal.setitimer(signal.ITIMER_REAL, seconds)


def test_a_stop_request_stops_every_component_without_blaming_one_and_ends_quietly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Ctrl-C reaches the children too (one terminal, one process group): each ends by a signal.
    first, second = child("import time; time.sleep(60)"), child("import time; time.sleep(60)")
    stop_after(0.5, signal.SIGINT)
    try:
        assert supervise({"ingest": first, "process": second}) == 0
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    assert first.returncode == second.returncode == -signal.SIGTERM
    assert "exited with status" not in capsys.readouterr().err


def test_a_component_that_fails_on_its_way_out_of_a_stop_gives_its_status() -> None:
    stubborn = child("import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(3))\ntime.sleep(60)")
    quiet = child("import time; time.sleep(60)")
    stop_after(2.0, signal.SIGTERM)  # once its handler is in place
    try:
        assert supervise({"ingest": quiet, "sink": stubborn}) == 3
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def test_a_component_killed_by_a_signal_is_reported_so(capsys: pytest.CaptureFixture[str]) -> None:
    long_running = child("import time; time.sleep(60)")
    killed = child("import os, signal, time; time.sleep(0.5); os.kill(os.getpid(), signal.SIGKILL)")
    assert supervise({"ingest": long_running, "process": killed}) == 128 + signal.SIGKILL
    assert "`lineage process` was killed by SIGKILL" in capsys.readouterr().err


def test_a_component_that_finishes_cleanly_on_its_own_still_stops_the_rest_with_status_0() -> None:
    long_running = child("import time; time.sleep(60)")
    assert supervise({"ingest": long_running, "process": child("pass")}) == 0
    assert long_running.returncode == -signal.SIGTERM
