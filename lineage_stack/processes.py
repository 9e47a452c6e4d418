"""Starting, finding and stopping the server processes the stack owns."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lineage_stack.errors import StackError


def spawn(cmd: Sequence[str], log_path: Path, cwd: Path) -> int:
    """Start a detached server process (own session, output to ``log_path``); returns its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc.pid


def is_running(pid: int | None, marker: str) -> bool:
    """True if ``pid`` is alive, not a zombie, and ``marker`` is one of its arguments, exactly.

    The marker (a path inside the stack's data folder) makes sure that neither a recycled pid
    nor another stack's server is ever taken for ours.
    """
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and marker.encode() in argv


def stop(pid: int, marker: str, timeout: float = 30.0) -> bool:
    """SIGTERM the process group of ``pid``, then SIGKILL after ``timeout``; False if not ours."""
    if not is_running(pid, marker):
        return False
    _signal_group(pid, signal.SIGTERM)
    if wait_until(lambda: not is_running(pid, marker), timeout):
        return True
    _signal_group(pid, signal.SIGKILL)
    wait_until(lambda: not is_running(pid, marker), 10.0)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def check_ports_free(ports: dict[str, int]) -> None:
    taken = {what: port for what, port in ports.items() if port_in_use(port)}
    if taken:
        listing = ", ".join(f"{what} port {port}" for what, port in taken.items())
        raise StackError(
            f"cannot start the stack: {listing} on 127.0.0.1 already in use by another program. "
            "Stop that program, or choose free ports with --kafka-port / --kafka-controller-port "
            "/ --neo4j-port."
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def wait_ready(
    name: str,
    address: str,
    probe: Callable[[], bool],
    alive: Callable[[], bool],
    log: Path,
    timeout: float,
) -> None:
    """Wait until ``probe`` succeeds; fail at once if the process died, with its log's tail."""

    def ready() -> bool:
        if not alive():
            raise StackError(f"{name} exited during start-up. Last lines of {log}:\n{log_tail(log)}")
        return probe()

    if not wait_until(ready, timeout, interval=0.5):
        raise StackError(
            f"{name} did not accept clients on {address} within {timeout:.0f}s. Last lines of {log}:\n{log_tail(log)}"
        )


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:])
