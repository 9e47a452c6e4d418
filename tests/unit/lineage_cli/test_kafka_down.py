"""With Kafka down, the commands that need it say so in one line, within seconds."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ANY_PATH = Path(__file__).parents[3] / "tests"  # any existing path: publish checks paths first


@pytest.mark.parametrize("command", [["publish", str(ANY_PATH)], ["dlq"]])
def test_a_command_needing_kafka_fails_fast_with_one_line_when_it_is_down(command: list[str], tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens once this closes
    env = {"PATH": "/usr/bin:/bin", "LINEAGE_HOME": str(tmp_path), "LINEAGE_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "lineage_cli", *command], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert time.monotonic() - started < 20
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[:2000]
    assert lines[0].startswith("lineage: error: cannot ") and f"127.0.0.1:{port}" in lines[0]
    assert "lineage stack up" in lines[0]
