"""``lineage run`` refuses to start a second pipeline beside a running one."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def test_a_taken_port_says_already_running_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        ingest = free.getsockname()[1]  # whatever runs here, the ingest port is not the one taken
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        env = {
            "PATH": "/usr/bin:/bin",
            "LINEAGE_HOME": str(tmp_path),
            "LINEAGE_INGEST_PORT": str(ingest),
            "LINEAGE_API_PORT": str(port),
        }
        done = subprocess.run(
            [sys.executable, "-m", "lineage_cli", "run"], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"lineage run: 127.0.0.1:{port} (LINEAGE_API_PORT) is taken: is `lineage run` already running? "
        "Stop it (Ctrl-C where it runs), or set LINEAGE_API_PORT to a free port."
    )
