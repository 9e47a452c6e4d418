"""``up``, ``down`` and ``status`` of the local stack, and the state file that ties them.

Layout of a data folder::

    <data-dir>/stack.json      pids and ports of the running servers (written by ``up``)
    <data-dir>/kafka/          server.properties, KRaft data, kafka.log
    <data-dir>/neo4j/          neo4j.conf, databases, neo4j.log

Jars live in the cache folder (``<home>/cache`` by default), shared by every data folder.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lineage_stack import kafka_server, neo4j_server
from lineage_stack.errors import StackError
from lineage_stack.maven import fetch_jars
from lineage_stack.processes import check_ports_free, is_running, log_tail, spawn, stop
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
    need_kafka = not is_running(state.kafka.pid, marker)
    need_neo4j = not is_running(state.neo4j.pid, marker)
    if not (need_kafka or need_neo4j):
        log(f"stack already running in {data_dir}; reusing it")
        return state

    ports: dict[str, int] = {}
    if need_kafka:
        ports["Kafka"] = state.kafka.port
        ports["Kafka controller"] = state.kafka.extra_ports["controller"]
    if need_neo4j:
        ports["Neo4j Bolt"] = state.neo4j.port
    check_ports_free(ports)
    java = find_java()

    cache = config.cache_dir.resolve()
    kafka_home, neo4j_home = data_dir / "kafka", data_dir / "neo4j"
    waiters = []
    if need_kafka:
        lib = fetch_jars(kafka_server.POM, kafka_server.pom_versions(), cache, "kafka", log)
        kafka_server.write_config(kafka_home, state.kafka.port, state.kafka.extra_ports["controller"])
        kafka_server.format_storage(java, lib, kafka_home)
        kafka_log = kafka_home / "kafka.log"
        state.kafka.pid = spawn(kafka_server.server_command(java, lib, kafka_home), kafka_log, kafka_home)
        log(f"started Kafka {kafka_server.KAFKA_VERSION} (pid {state.kafka.pid}), log {kafka_log}")
        pid = state.kafka.pid
        waiters.append(
            lambda: kafka_server.wait_ready(
                state.kafka.port, lambda: is_running(pid, marker), kafka_log
            )
        )
    if need_neo4j:
        lib = fetch_jars(neo4j_server.POM, neo4j_server.pom_versions(), cache, "neo4j", log)
        neo4j_server.write_config(neo4j_home, state.neo4j.port)
        neo4j_log = neo4j_home / "neo4j.log"
        state.neo4j.pid = spawn(neo4j_server.server_command(java, lib, neo4j_home), neo4j_log, neo4j_home)
        log(f"started Neo4j {neo4j_server.NEO4J_VERSION} (pid {state.neo4j.pid}), log {neo4j_log}")
        npid = state.neo4j.pid
        waiters.append(
            lambda: neo4j_server.wait_ready(
                state.neo4j.port, lambda: is_running(npid, marker), neo4j_log
            )
        )
    _write_state(data_dir, state)
    log("waiting for the servers to accept clients...")
    try:
        _run_all(waiters)
    except StackError:
        down(config.data_dir, log=lambda _msg: None)
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
