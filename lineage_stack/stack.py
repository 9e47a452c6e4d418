"""``up``, ``down`` and ``status`` of the local stack, and the state file that ties them.

Layout of a data folder::

    <data-dir>/stack.json      pids and ports of the running servers (written by ``up``)
    <data-dir>/kafka/          server.properties, KRaft data, kafka.log
    <data-dir>/neo4j/          neo4j.conf, databases, neo4j.log

Jars live in the cache folder (``<home>/cache`` by default), shared by every data folder.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lineage_stack import kafka_server, neo4j_server
from lineage_stack.errors import StackError
from lineage_stack.maven import fetch_jars
from lineage_stack.processes import check_ports_free, is_running, log_tail, spawn, stop, wait_ready
from lineage_stack.tools import find_java

Log = Callable[[str], None]


@dataclass(frozen=True)
class StackConfig:
    data_dir: Path
    cache_dir: Path
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    neo4j_port: int = 7687


@dataclass
class ServiceState:
    pid: int | None = None
    port: int = 0
    extra_ports: dict[str, int] = field(default_factory=dict)


@dataclass
class StackState:
    kafka: ServiceState
    neo4j: ServiceState

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka.port}"

    @property
    def neo4j_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.neo4j.port}"


def state_path(data_dir: Path) -> Path:
    return data_dir / "stack.json"


def read_state(data_dir: Path) -> StackState | None:
    path = state_path(data_dir)
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        return StackState(kafka=ServiceState(**raw["kafka"]), neo4j=ServiceState(**raw["neo4j"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise StackError(f"{path} is not a stack state file ({exc}); remove it and retry") from exc


def _write_state(data_dir: Path, state: StackState) -> None:
    state_path(data_dir).write_text(json.dumps(asdict(state), indent=2) + "\n")


def _marker(data_dir: Path) -> str:
    # Every server command line names a path inside the data folder; that path tells our
    # processes apart from anything else, even after a pid is recycled.
    return str(data_dir.resolve())


def status(data_dir: Path) -> dict[str, Any]:
    """Addresses and liveness of the stack in ``data_dir`` (running or not)."""
    state = read_state(data_dir)
    marker = _marker(data_dir)
    if state is None:
        return {
            "data_dir": str(data_dir.resolve()),
            "running": False,
            "kafka_bootstrap": None,
            "neo4j_uri": None,
            "kafka_running": False,
            "neo4j_running": False,
        }
    kafka_up = is_running(state.kafka.pid, marker)
    neo4j_up = is_running(state.neo4j.pid, marker)
    return {
        "data_dir": str(data_dir.resolve()),
        "running": kafka_up and neo4j_up,
        "kafka_bootstrap": state.kafka_bootstrap,
        "neo4j_uri": state.neo4j_uri,
        "kafka_running": kafka_up,
        "neo4j_running": neo4j_up,
        "kafka_pid": state.kafka.pid if kafka_up else None,
        "neo4j_pid": state.neo4j.pid if neo4j_up else None,
        "kafka_log": str(data_dir.resolve() / "kafka" / "kafka.log"),
        "neo4j_log": str(data_dir.resolve() / "neo4j" / "neo4j.log"),
    }


def up(config: StackConfig, log: Log) -> StackState:
    """Start whatever part of the stack is not running in ``config.data_dir``; idempotent.

    A running stack is reused with the ports it was started with. Returns when a Kafka client
    and a Neo4j driver can connect, or raises StackError with the server's log.
    """
    data_dir = config.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    marker = _marker(data_dir)
    state = read_state(data_dir) or StackState(
        kafka=ServiceState(
            port=config.kafka_port, extra_ports={"controller": config.kafka_controller_port}
        ),
        neo4j=ServiceState(port=config.neo4j_port),
    )
    servers = [
        (server, service)
        for server, service in ((kafka_server, state.kafka), (neo4j_server, state.neo4j))
        if not is_running(service.pid, marker)
    ]
    if not servers:
        log(f"stack already running in {data_dir}; reusing it")
        return state
    check_ports_free(
        {what: port for server, svc in servers for what, port in server.ports(svc.port, svc.extra_ports).items()}
    )
    java = find_java()
    cache = config.cache_dir.resolve()
    waiters: list[Callable[[], None]] = []
    for server, service in servers:
        home = data_dir / server.NAME
        lib = fetch_jars(server.POM, server.pom_versions(), cache, server.NAME, log)
        command = server.prepare(java, lib, home, service.port, service.extra_ports)
        log_path = home / f"{server.NAME}.log"
        service.pid = spawn(command, log_path, home)
        log(f"started {server.LABEL} {server.VERSION} (pid {service.pid}), log {log_path}")
        waiters.append(
            functools.partial(
                wait_ready,
                server.LABEL,
                f"127.0.0.1:{service.port}",
                functools.partial(server.probe, service.port),
                functools.partial(is_running, service.pid, marker),
                log_path,
                server.READY_TIMEOUT,
            )
        )
    _write_state(data_dir, state)
    log("waiting for the servers to accept clients...")
    try:
        _run_all(waiters)
    except StackError:
        for _server, service in servers:  # stop what this call started, nothing else
            if service.pid:
                stop(service.pid, marker)
        raise
    return state


def down(data_dir: Path, log: Log) -> list[str]:
    """Stop the servers this data folder's ``up`` started; returns what was stopped."""
    state = read_state(data_dir)
    if state is None:
        log(f"no stack in {data_dir.resolve()}; nothing to stop")
        return []
    marker = _marker(data_dir)
    stopped = []
    for name, service in (("Neo4j", state.neo4j), ("Kafka", state.kafka)):
        if service.pid and stop(service.pid, marker):
            log(f"stopped {name} (pid {service.pid})")
            stopped.append(name)
        service.pid = None
    _write_state(data_dir.resolve(), state)
    if not stopped:
        log("stack was not running")
    return stopped


def _run_all(waiters: list[Callable[[], None]]) -> None:
    """Run the readiness checks in parallel; re-raise the first failure."""
    errors: list[BaseException] = []

    def guard(fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(w,)) for w in waiters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


__all__ = ["StackConfig", "StackState", "down", "log_tail", "read_state", "status", "up"]
