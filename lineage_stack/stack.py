"""``up``, ``down`` and ``status`` of the local stack, and the state file that ties them.

Layout of a data folder::

    <data-dir>/stack.json      pids and ports of the running servers (written by ``up``)
    <data-dir>/kafka/          server.properties, KRaft data, kafka.log
    <data-dir>/neo4j/          neo4j.conf, databases, neo4j.log

Jars live in the cache folder (``<home>/cache`` by default), shared by every data folder.
Neo4j Browser (one more jar) is optional: when it cannot be fetched, Neo4j starts without it and
``status`` says why (``neo4j_browser``).
"""

from __future__ import annotations

import fcntl
import functools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lineage_stack import kafka_server, neo4j_server
from lineage_stack.errors import StackError
from lineage_stack.maven import fetch_jars
from lineage_stack.processes import check_ports_free, is_running, log_tail, port_in_use, spawn, stop, wait_ready
from lineage_stack.tools import find_java

Log = Callable[[str], None]
SERVERS = (kafka_server, neo4j_server)
DEFAULT_PORTS = {
    "kafka": (9092, {"controller": 9093}),
    "neo4j": (7687, {"http": neo4j_server.DEFAULT_HTTP_PORT}),  # http: Neo4j's HTTP connector, for the Browser
}
BROWSER_SERVED = "served"
# The SASL (SCRAM) listener's port when a SCRAM user is asked for and no port was given.
DEFAULT_KAFKA_SASL_PORT = 9094


@dataclass(frozen=True)
class StackConfig:
    """Where the stack lives; ports left None mean "as last time, else the defaults".

    ``kafka_sasl_port`` adds Kafka's SASL_PLAINTEXT (SCRAM) listener, kept on later starts like the
    other ports; ``kafka_sasl_user`` / ``kafka_sasl_password`` create that SCRAM user (the listener
    then defaults to port DEFAULT_KAFKA_SASL_PORT). ``services`` limits which servers ``up`` starts.
    """

    data_dir: Path
    cache_dir: Path
    kafka_port: int | None = None
    kafka_controller_port: int | None = None
    neo4j_port: int | None = None
    neo4j_http_port: int | None = None  # Neo4j's HTTP connector, which serves Neo4j Browser
    kafka_sasl_port: int | None = None
    kafka_sasl_user: str | None = None
    kafka_sasl_password: str | None = field(default=None, repr=False)
    services: tuple[str, ...] = ("kafka", "neo4j")

    def requested(self, name: str) -> tuple[int | None, dict[str, int | None]]:
        if name == "kafka":
            return self.kafka_port, {"controller": self.kafka_controller_port, "sasl": self.kafka_sasl_port}
        return self.neo4j_port, {"http": self.neo4j_http_port}


@dataclass
class ServiceState:
    pid: int | None = None
    port: int = 0
    extra_ports: dict[str, int] = field(default_factory=dict)
    # What became of an optional part when the server last started: {"browser": "served"}, or the
    # reason it is not served. Empty for a Neo4j started before the stack served Neo4j Browser.
    optional: dict[str, str] = field(default_factory=dict)


@dataclass
class StackState:
    kafka: ServiceState
    neo4j: ServiceState

    def service(self, name: str) -> ServiceState:
        return self.kafka if name == "kafka" else self.neo4j

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka.port}"

    @property
    def neo4j_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.neo4j.port}"

    @property
    def kafka_sasl_bootstrap(self) -> str | None:
        """The SASL_PLAINTEXT (SCRAM) listener's address, when the stack has one."""
        port = self.kafka.extra_ports.get("sasl")
        return f"127.0.0.1:{port}" if port else None


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
    tmp = state_path(data_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    tmp.replace(state_path(data_dir))


def _default_state() -> StackState:
    (kport, kextra), (nport, nextra) = DEFAULT_PORTS["kafka"], DEFAULT_PORTS["neo4j"]
    return StackState(
        kafka=ServiceState(port=kport, extra_ports=dict(kextra)),
        neo4j=ServiceState(port=nport, extra_ports=dict(nextra)),
    )


def _running(server: Any, data_dir: Path, service: ServiceState) -> bool:
    # The exact argument naming this data folder's config tells our servers apart from any
    # other process, another stack's included, even after a pid is recycled.
    return is_running(service.pid, server.marker(data_dir / server.NAME))


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """One ``up`` or ``down`` at a time per data folder."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / ".stack.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StackError(
                f"another `lineage stack` command is working on {data_dir}; wait for it to finish"
            ) from None
        yield


def status(data_dir: Path) -> dict[str, Any]:
    """Addresses and liveness of the stack in ``data_dir`` (running or not)."""
    data_dir = data_dir.resolve()
    state = read_state(data_dir)
    if state is None:
        return {
            "data_dir": str(data_dir),
            "running": False,
            "kafka_bootstrap": None,
            "kafka_sasl_bootstrap": None,
            "neo4j_uri": None,
            "kafka_running": False,
            "neo4j_running": False,
            "neo4j_http_url": None,
            "neo4j_browser_url": None,
            "neo4j_browser": "the stack was never started in this folder",
        }
    kafka_up = _running(kafka_server, data_dir, state.kafka)
    neo4j_up = _running(neo4j_server, data_dir, state.neo4j)
    return {
        "data_dir": str(data_dir),
        "running": kafka_up and neo4j_up,
        "kafka_bootstrap": state.kafka_bootstrap,
        "kafka_sasl_bootstrap": state.kafka_sasl_bootstrap,
        "neo4j_uri": state.neo4j_uri,
        "kafka_running": kafka_up,
        "neo4j_running": neo4j_up,
        "kafka_pid": state.kafka.pid if kafka_up else None,
        "neo4j_pid": state.neo4j.pid if neo4j_up else None,
        "kafka_log": str(data_dir / "kafka" / "kafka.log"),
        "neo4j_log": str(data_dir / "neo4j" / "neo4j.log"),
        **_browser_status(state.neo4j, neo4j_up),
    }


def _browser_status(neo4j: ServiceState, running: bool) -> dict[str, Any]:
    """``neo4j_http_url`` and ``neo4j_browser_url`` (None when not served), and ``neo4j_browser``:
    "served", else why not. The Browser's address fills in its connect form (this Bolt address, "No
    authentication"), so that it connects as it opens."""
    http_port = neo4j.extra_ports.get("http")
    outcome = neo4j.optional.get("browser")
    if outcome is None:  # started by a `lineage stack` from before the Browser
        note = (
            "Neo4j was started without its HTTP connector (by an older `lineage stack`); restart the "
            "stack (`lineage stack down`, then `lineage stack up`) to get Neo4j Browser"
        )
        return {"neo4j_http_url": None, "neo4j_browser_url": None, "neo4j_browser": note}
    http = f"http://127.0.0.1:{http_port}" if http_port else None
    connect = f"?dbms=bolt://127.0.0.1:{neo4j.port}&preselectAuthMethod=NO_AUTH"
    browser = f"{http}/browser/{connect}" if http and outcome == BROWSER_SERVED else None
    note = outcome if running else "Neo4j is not running"
    return {"neo4j_http_url": http, "neo4j_browser_url": browser, "neo4j_browser": note}


def up(config: StackConfig, log: Log) -> StackState:
    """Start whatever part of the stack is not running in ``config.data_dir``; idempotent.

    A running server is reused with the port it was started with; a stopped one starts on the
    port asked for, else the one it had, else the default. Returns when a Kafka client and a
    Neo4j driver can connect. On any failure (or Ctrl-C) it stops what it started, then raises.
    With ``config.kafka_sasl_user`` it then creates that SCRAM user and waits until the SASL
    listener accepts it.
    """
    data_dir = config.data_dir.resolve()
    with _locked(data_dir):
        state = read_state(data_dir) or _default_state()
        wanted = [s for s in SERVERS if s.NAME in config.services]
        servers = [s for s in wanted if not _running(s, data_dir, state.service(s.NAME))]
        if not servers:
            log(f"stack already running in {data_dir}; reusing it")
            _add_scram_user(config, state, log)
            return state
        for server in servers:
            for what, default in DEFAULT_PORTS[server.NAME][1].items():
                # a port added to the stack since this folder's state was written (Neo4j's HTTP)
                state.service(server.NAME).extra_ports.setdefault(what, default)
            _apply_requested_ports(state.service(server.NAME), *config.requested(server.NAME))
        if config.kafka_sasl_user and kafka_server in servers:
            state.kafka.extra_ports.setdefault("sasl", DEFAULT_KAFKA_SASL_PORT)
        no_http = _http_port_taken(state.neo4j, config.neo4j_http_port) if neo4j_server in servers else None
        check_ports_free(
            {
                what: port
                for server in servers
                for what, port in server.ports(
                    state.service(server.NAME).port, state.service(server.NAME).extra_ports
                ).items()
            }
        )
        java = find_java()
        cache = config.cache_dir.resolve()
        libs = {s.NAME: fetch_jars(s.POM, s.pom_versions(), cache, s.NAME, log) for s in servers}
        # Keyword arguments for a server's prepare() and probe(), by server name.
        options: dict[str, dict[str, dict[str, Any]]] = {s.NAME: {"prepare": {}, "probe": {}} for s in servers}
        if neo4j_server in servers:
            if no_http:
                log(f"Neo4j starts without its HTTP connector and Neo4j Browser: {no_http}")
            browser_lib, state.neo4j.optional["browser"] = (None, no_http) if no_http else fetch_browser(cache, log)
            options["neo4j"]["prepare"]["extra_libs"] = [browser_lib] if browser_lib else []
            options["neo4j"]["probe"]["http_port"] = state.neo4j.extra_ports.get("http")
        started: list[ServiceState] = []
        try:
            waiters = [
                _start(server, state, data_dir, java, libs[server.NAME], options[server.NAME], started, log)
                for server in servers
            ]
            log("waiting for the servers to accept clients...")
            _run_all(waiters)
        except BaseException:
            for server in servers:  # stop what this call started, nothing else
                service = state.service(server.NAME)
                if service in started and service.pid:
                    stop(service.pid, server.marker(data_dir / server.NAME))
                    service.pid = None
            _write_state(data_dir, state)
            raise
        _add_scram_user(config, state, log)
        return state


def _add_scram_user(config: StackConfig, state: StackState, log: Log) -> None:
    if not config.kafka_sasl_user:
        return
    sasl_port = state.kafka.extra_ports.get("sasl")
    if not sasl_port:
        raise StackError(
            "the running Kafka has no SASL listener; stop the stack (`lineage stack down`) and start it again "
            "with --kafka-sasl-user"
        )
    kafka_server.add_scram_user(state.kafka.port, sasl_port, config.kafka_sasl_user, config.kafka_sasl_password or "")
    log(f"Kafka SCRAM user {config.kafka_sasl_user!r} ready on SASL_PLAINTEXT 127.0.0.1:{sasl_port}")


def _http_port_taken(neo4j: ServiceState, asked: int | None) -> str | None:
    """Leave Neo4j's HTTP connector (and so the Browser) out, and say why, when its port was not
    asked for in this command and another program has it: the Browser is optional, the stack is not.
    A port asked for with --neo4j-http-port is checked like the others instead."""
    port = neo4j.extra_ports.get("http")
    if asked or not port or not port_in_use(port):
        return None
    del neo4j.extra_ports["http"]  # the next `up` tries the default again
    return f"port {port} (Neo4j HTTP) is in use by another program; choose a free one with --neo4j-http-port"


def fetch_browser(cache: Path, log: Log) -> tuple[Path | None, str]:
    """Neo4j Browser's jar folder and "served"; or None and why not: Neo4j then starts without it."""
    try:
        lib = fetch_jars(neo4j_server.BROWSER_POM, neo4j_server.browser_versions(), cache, "neo4j-browser", log)
    except StackError as exc:
        log(f"Neo4j Browser is not available; Neo4j starts without it. {exc}")
        return None, str(exc).splitlines()[0]
    return lib, BROWSER_SERVED


def _apply_requested_ports(service: ServiceState, port: int | None, extra: dict[str, int | None]) -> None:
    if port:
        service.port = port
    for name, value in extra.items():
        if value:
            service.extra_ports[name] = value


def _start(
    server: Any,
    state: StackState,
    data_dir: Path,
    java: str,
    lib: Path,
    options: dict[str, dict[str, Any]],
    started: list[ServiceState],
    log: Log,
) -> Callable[[], None]:
    """Start one server, record its pid at once, and return the wait for its readiness."""
    service = state.service(server.NAME)
    home = data_dir / server.NAME
    command = server.prepare(java, lib, home, service.port, service.extra_ports, **options["prepare"])
    log_path = home / f"{server.NAME}.log"
    process = spawn(command, log_path, home)
    service.pid = process.pid
    started.append(service)
    _write_state(data_dir, state)
    log(f"started {server.LABEL} {server.VERSION} (pid {service.pid}), log {log_path}")
    return functools.partial(
        wait_ready,
        server.LABEL,
        f"127.0.0.1:{service.port}",
        functools.partial(server.probe, service.port, **options["probe"]),
        process.poll,
        log_path,
        server.READY_TIMEOUT,
    )


def down(data_dir: Path, log: Log) -> list[str]:
    """Stop the servers this data folder's ``up`` started; returns what was stopped."""
    data_dir = data_dir.resolve()
    with _locked(data_dir):
        state = read_state(data_dir)
        if state is None:
            log(f"no stack in {data_dir}; nothing to stop")
            return []
        stopped = []
        for server in reversed(SERVERS):
            service = state.service(server.NAME)
            if service.pid and stop(service.pid, server.marker(data_dir / server.NAME)):
                log(f"stopped {server.LABEL} (pid {service.pid})")
                stopped.append(server.LABEL)
            service.pid = None
        _write_state(data_dir, state)
        if not stopped:
            log("stack was not running")
        return stopped


def _run_all(waiters: list[Callable[[], None]]) -> None:
    """Run the readiness checks in parallel; re-raise the first failure.

    The threads are daemons so that Ctrl-C is not held up by a check still waiting.
    """
    errors: list[BaseException] = []

    def guard(fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(w,), daemon=True) for w in waiters]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(timeout=0.2)
    if errors:
        raise errors[0]


__all__ = ["StackConfig", "StackState", "down", "log_tail", "read_state", "status", "up"]
