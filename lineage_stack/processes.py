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


def spawn(cmd: Sequence[str], log_path: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start a detached server process (own session, output to ``log_path``).

    The caller keeps the ``Popen`` while it waits for readiness: whether the server died during
    start-up is then its real exit status, not a reading of ``/proc`` (which can miss a process
    for a moment, while the Java launcher re-executes itself, say).
    """
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
    return proc


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
            "/ --neo4j-port / --neo4j-http-port."
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
    exit_status: Callable[[], int | None],
    log: Path,
    timeout: float,
) -> None:
    """Wait until ``probe`` succeeds; fail at once if the process died, with its log's tail.

    ``exit_status`` returns None while the process runs, else its exit status (negative: the signal),
    as ``Popen.poll`` does.
    """

    def ready() -> bool:
        status = exit_status()
        if status is not None:
            raise StackError(
                f"{name} exited during start-up ({exit_reason(status)}). Last lines of {log}:\n{log_tail(log)}"
            )
        return probe()

    if not wait_until(ready, timeout, interval=0.5):
        raise StackError(
            f"{name} did not accept clients on {address} within {timeout:.0f}s. Last lines of {log}:\n{log_tail(log)}"
        )


def exit_reason(status: int) -> str:
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        hint = " (the kernel's out-of-memory killer sends this; see `dmesg`)" if -status == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit code {status}"


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    if not text.strip():
        return "(the log is empty: the process printed nothing)"
    return "\n".join(text.splitlines()[-lines:])
