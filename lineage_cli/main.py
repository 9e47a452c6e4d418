"""``lineage``: one console script for the stack, the components and (later) the queries.

Configuration comes from ``LINEAGE_*`` environment variables and flags, read here and nowhere
else. Without LINEAGE_KAFKA_BOOTSTRAP / LINEAGE_NEO4J_URI the components use the addresses of
the local stack in the default data folder if one is running, else its default ports.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lineage.settings import Settings, SettingsError
from lineage_cli import query_commands, status
from lineage_cli.environment import component_settings, env_settings
from lineage_cli.instances import with_instances
from lineage_stack import stack
from lineage_stack.errors import StackError
from observability.logs import configure_logging
from observability.server import PortTaken
from producers.topics import KafkaUnavailable
from sinks.neo4j_writer import Neo4jUnavailable
from stream_processor.state_check import StaleState


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except (StackError, SettingsError, KafkaUnavailable, Neo4jUnavailable, StaleState, PortTaken) as exc:
        print(f"lineage: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lineage", description="OpenLineage events in, an always-current Neo4j lineage graph out."
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    stack_p = sub.add_parser("stack", help="local Apache Kafka and Neo4j, without Docker")
    stack_sub = stack_p.add_subparsers(metavar="ACTION")
    up_p = stack_sub.add_parser("up", help="start Kafka and Neo4j on 127.0.0.1 (reuses a running stack)")
    _stack_dirs(up_p)
    up_p.add_argument("--kafka-port", type=int, default=None, help="Kafka listener (default 9092)")
    up_p.add_argument("--kafka-controller-port", type=int, default=None, help="KRaft controller (default 9093)")
    up_p.add_argument("--neo4j-port", type=int, default=None, help="Neo4j Bolt (default 7687)")
    up_p.add_argument(
        "--neo4j-http-port", type=int, default=None, help="Neo4j HTTP, serving Neo4j Browser (default 7474)"
    )
    up_p.add_argument(
        "--kafka-sasl-port",
        type=int,
        default=None,
        help="add a SASL_PLAINTEXT listener (SCRAM-SHA-256/512) on this port (default 9094 with --kafka-sasl-user)",
    )
    up_p.add_argument("--kafka-sasl-user", default=None, help="create this SCRAM user for the SASL listener")
    up_p.add_argument(
        "--kafka-sasl-password",
        default=None,
        help="the SCRAM user's password (default: LINEAGE_KAFKA_SASL_PASSWORD)",
    )
    up_p.add_argument("--json", action="store_true", help="print the addresses as JSON")
    up_p.set_defaults(handler=_stack_up)
    down_p = stack_sub.add_parser("down", help="stop the servers `stack up` started")
    _stack_dirs(down_p)
    down_p.set_defaults(handler=_stack_down)
    status_p = stack_sub.add_parser("status", help="addresses and state of the local stack")
    _stack_dirs(status_p)
    status_p.add_argument("--json", action="store_true", help="print JSON for other tools")
    status_p.set_defaults(handler=_stack_status)

    run_p = sub.add_parser(
        "run", help="run the HTTP ingest, a processor worker, a sink and the explorer together (the local default)"
    )
    run_p.set_defaults(handler=_run_all)
    ingest_p = sub.add_parser("ingest", help="serve the OpenLineage HTTP endpoint (POST /api/v1/lineage)")
    ingest_p.set_defaults(handler=_ingest)
    process_p = sub.add_parser("process", help="run one stream-processor worker")
    process_p.set_defaults(handler=_process)
    sink_p = sub.add_parser("sink", help="run one Neo4j sink")
    sink_p.set_defaults(handler=_sink)
    api_p = sub.add_parser("api", help="serve the lineage explorer (/) and the read-only query API (/api/v1)")
    api_p.set_defaults(handler=_api)
    publish_p = sub.add_parser("publish", help="replay OpenLineage events from files or folders into Kafka")
    publish_p.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="JSON/array/NDJSON files, or folders (*.json, *.jsonl, *.ndjson, recursively)",
    )
    publish_p.add_argument(
        "--no-validate",
        dest="validate",
        action="store_false",
        help="send invalid events too (the processor dead-letters them)",
    )
    publish_p.add_argument("--json", action="store_true", help="print the summary as JSON")
    publish_p.set_defaults(handler=_publish)
    dlq_p = sub.add_parser("dlq", help="show the dead letters: events the processor could not process")
    dlq_p.add_argument("--limit", type=int, default=50, help="show at most N, the oldest (default 50)")
    dlq_p.add_argument("--json", action="store_true", help="print JSON (raw bytes in base64)")
    dlq_p.add_argument(
        "--graph", action="store_true", help="the sink's dead letters (graph mutations Neo4j refused) instead"
    )
    dlq_p.set_defaults(handler=_dlq)
    query_commands.add_commands(sub)
    status.add_command(sub)
    return parser


def _stack_dirs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=None, help="stack data folder (default .lineage/stack)")
    p.add_argument("--cache-dir", type=Path, default=None, help="jar cache folder (default .lineage/cache)")


def _stack_config(args: argparse.Namespace) -> stack.StackConfig:
    settings = env_settings()
    user = getattr(args, "kafka_sasl_user", None)
    password = getattr(args, "kafka_sasl_password", None)
    if password and not user:
        raise SettingsError("--kafka-sasl-password needs --kafka-sasl-user")
    if user and not password:
        password = settings.kafka_sasl_password.get_secret_value()
        if not password:
            raise SettingsError("--kafka-sasl-user needs --kafka-sasl-password (or LINEAGE_KAFKA_SASL_PASSWORD)")
    return stack.StackConfig(
        data_dir=args.data_dir or settings.stack_data_dir,
        cache_dir=args.cache_dir or settings.cache_dir,
        kafka_port=getattr(args, "kafka_port", None),
        kafka_controller_port=getattr(args, "kafka_controller_port", None),
        neo4j_port=getattr(args, "neo4j_port", None),
        neo4j_http_port=getattr(args, "neo4j_http_port", None),
        kafka_sasl_port=getattr(args, "kafka_sasl_port", None),
        kafka_sasl_user=user,
        kafka_sasl_password=password,
    )


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _stack_up(args: argparse.Namespace) -> int:
    config = _stack_config(args)
    stack.up(config, log=_progress)
    info = stack.status(config.data_dir)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"Kafka bootstrap: {info['kafka_bootstrap']}")
        if info["kafka_sasl_bootstrap"]:
            print(f"Kafka SASL_PLAINTEXT (SCRAM-SHA-256/512): {info['kafka_sasl_bootstrap']}")
        print(f"Neo4j Bolt URI:  {info['neo4j_uri']}")
        print(f"Neo4j Browser:   {_browser_text(info)}")
        print(f"data folder:     {info['data_dir']}")
    return 0


def _stack_down(args: argparse.Namespace) -> int:
    stack.down(_stack_config(args).data_dir, log=_progress)
    return 0


def _stack_status(args: argparse.Namespace) -> int:
    info = stack.status(_stack_config(args).data_dir)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for service, address in (("Kafka", "kafka_bootstrap"), ("Neo4j", "neo4j_uri")):
            running = info[f"{service.lower()}_running"]
            print(f"{service}: {'running' if running else 'stopped'}  {info[address] or ''}".rstrip())
            if service == "Kafka" and info["kafka_sasl_bootstrap"]:
                print(f"Kafka SASL_PLAINTEXT (SCRAM-SHA-256/512): {info['kafka_sasl_bootstrap']}")
        print(f"Neo4j Browser: {_browser_text(info)}")
        print(f"data folder: {info['data_dir']}")
    return 0 if info["running"] else 1


def _browser_text(info: dict[str, Any]) -> str:
    """Where Neo4j Browser is and how to connect, or why it is not served."""
    if not info.get("neo4j_running"):
        return "not served: Neo4j is not running"
    if info.get("neo4j_browser_url"):
        return f'{info["neo4j_browser_url"]} (connects to {info["neo4j_uri"]} with "No authentication")'
    return f"not served: {info.get('neo4j_browser')}"


def _serve(run: Callable[[Settings], None]) -> int:
    """Run one long-lived component with the component settings and logging set up."""
    settings = component_settings()
    configure_logging(settings.log_level)
    run(settings)
    return 0


def _ingest(_args: argparse.Namespace) -> int:
    from producers.http_ingest import run_ingest

    return _serve(run_ingest)


def _publish(args: argparse.Namespace) -> int:
    from producers.event_files import iter_events
    from producers.publisher import EventPublisher
    from producers.replay import ProgressLine, format_summary, replay
    from producers.topics import ensure_settings_topics

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"lineage: error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    settings = component_settings()
    ensure_settings_topics(settings, [settings.events_topic])
    publisher = EventPublisher(settings.kafka_bootstrap, settings.events_topic, settings.kafka_security_config)
    summary = replay(
        iter_events(args.paths),
        publisher,
        args.validate,
        ProgressLine(sys.stderr),
        max_event_bytes=settings.max_event_bytes,
    )
    print(json.dumps(summary.as_dict(), indent=2) if args.json else format_summary(summary))
    return summary.exit_code


def _dlq(args: argparse.Namespace) -> int:
    from producers.dead_letters import format_dead_letters, read_dead_letters

    settings = component_settings()
    topic = settings.graph_dlq_topic if args.graph else settings.dlq_topic
    letters = read_dead_letters(
        settings.kafka_bootstrap, topic, args.limit, timeout=30.0, kafka_config=settings.kafka_security_config
    )
    print(json.dumps([d.as_dict() for d in letters], indent=2) if args.json else format_dead_letters(letters))
    return 0


def _process(_args: argparse.Namespace) -> int:
    from stream_processor.worker import run_worker

    return _serve(lambda settings: run_worker(with_instances(settings, processor=True)))


def _api(_args: argparse.Namespace) -> int:
    from queries.http_api import run_api

    return _serve(run_api)


def _sink(_args: argparse.Namespace) -> int:
    from sinks.consumer import run_sink

    return _serve(lambda settings: run_sink(with_instances(settings, sink=True)))


def _run_all(_args: argparse.Namespace) -> int:
    """Run each component as a child process; stop all when one exits or on Ctrl-C."""
    settings = component_settings()
    for what, host, port in (
        ("LINEAGE_INGEST_PORT", settings.ingest_host, settings.ingest_port),
        ("LINEAGE_API_PORT", settings.api_host, settings.api_port),
        *(
            (f"LINEAGE_{name.upper()}_METRICS_PORT", settings.metrics_host, p)
            for name, p in settings.metrics_ports.items()
        ),
    ):
        # Before anything starts: a second `lineage run` would join the consumer groups first.
        if port and _taken(host, port):
            print(
                f"lineage run: {host}:{port} ({what}) is taken: is `lineage run` already running? Stop it "
                f"(Ctrl-C where it runs), or set {what} to a free port.",
                file=sys.stderr,
            )
            return 1
    env = dict(os.environ)
    env.setdefault("LINEAGE_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    env.setdefault("LINEAGE_NEO4J_URI", settings.neo4j_uri)
    print(
        f"lineage run: starting the ingest, a processor, a sink and the explorer on Kafka {settings.kafka_bootstrap} "
        f"and Neo4j {settings.neo4j_uri}. Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    names = ("ingest", "process", "sink", "api")
    children = {name: subprocess.Popen([sys.executable, "-m", "lineage_cli", name], env=env) for name in names}
    threading.Thread(target=_say_when_ready, args=(settings, children), daemon=True).start()
    return supervise(children)


READY_WITHIN_SECONDS = 180.0


def _say_when_ready(settings: Settings, children: dict[str, subprocess.Popen[Any]]) -> None:
    """Once every component answers its readiness check, one line saying where everything is; after
    READY_WITHIN_SECONDS, which are not ready and why."""
    from lineage_cli.status import probe_components

    deadline = time.monotonic() + READY_WITHIN_SECONDS
    states: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children.values()):
            return  # supervise says which one stopped
        states = probe_components(settings)
        if all(c["status"] in ("ready", "off") for c in states.values()):
            break
        time.sleep(0.5)
    else:
        waiting = ", ".join(f"{name} ({c['status']})" for name, c in states.items() if c["status"] != "ready")
        print(f"lineage run: not ready after {READY_WITHIN_SECONDS:.0f} s: {waiting}", file=sys.stderr, flush=True)
        return
    ports = [f"{name} {c['address']}" for name, c in states.items() if c["address"]]
    info = stack.status(settings.stack_data_dir)
    lines = [
        "lineage run: ready.",
        f"  send events   http://{settings.ingest_host}:{settings.ingest_port}/api/v1/lineage "
        f"(or Kafka topic {settings.events_topic})",
        f"  explorer      http://{settings.api_host}:{settings.api_port}/  (API under /api/v1)",
        f"  metrics       {', '.join(ports) if ports else 'off'}  (/metrics, /healthz, /readyz)",
        f"  Neo4j Browser {_browser_text(info)}",
        "  `lineage status` shows the pipeline live.",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def _taken(host: str, port: int) -> bool:
    """Whether something listens on host:port already (a bind there fails)."""
    with socket.socket() as probe:
        # As the servers bind: a port left in TIME_WAIT by closed connections is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal, say
        return f"signal {number}"


def supervise(children: dict[str, subprocess.Popen[Any]]) -> int:
    """Wait until a child exits or SIGINT/SIGTERM arrives, then stop them all. A child that exited
    on its own is named with its status, and its status is the result. Asked to stop (Ctrl-C), the
    result is 0 unless a child failed on its way out: one that ended by the stop signal or Ctrl-C
    stopped as asked. Otherwise the first non-zero status (a child killed by signal N counts as
    128 + N, as in a shell)."""
    stopping = asked = False
    signalled: set[str] = set()

    def stop_children(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for name, child in children.items():
            # Once each: a second SIGTERM can cut short a graceful stop already under way.
            if child.poll() is None and name not in signalled:
                signalled.add(name)
                child.send_signal(signal.SIGTERM)

    def stop_asked(*_: object) -> None:
        nonlocal asked
        asked = True
        stop_children()

    signal.signal(signal.SIGTERM, stop_asked)
    signal.signal(signal.SIGINT, stop_asked)
    first = next(iter(children.values()))
    culprit: int | None = None
    try:
        while all(child.poll() is None for child in children.values()):
            with contextlib.suppress(subprocess.TimeoutExpired):
                first.wait(timeout=0.5)
        if not stopping:
            name, child = next((n, c) for n, c in children.items() if c.returncode is not None)
            culprit = child.returncode
            how = f"was killed by {signal_name(-culprit)}" if culprit < 0 else f"exited with status {culprit}"
            print(
                f"lineage run: `lineage {name}` {how} (its log above says why); stopping the others.",
                file=sys.stderr,
                flush=True,
            )
    finally:
        stop_children()
        statuses = [child.wait() for child in children.values()]
    codes = [culprit] if culprit is not None else statuses
    if asked and culprit is None:
        # Ended by the stop itself: the signal (negative), or the shell's 128 + signal for it.
        stopped = {-signal.SIGTERM, -signal.SIGINT, 128 + signal.SIGTERM, 128 + signal.SIGINT}
        codes = [c for c in codes if c not in stopped]
    return next((128 - c if c < 0 else c for c in codes if c), 0)
