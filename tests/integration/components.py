"""Running the product's real components (``lineage process`` / ``lineage sink``) in tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from lineage.routed_batch import is_batch, unpack
from lineage.settings import Settings
from tests.integration.services import lineage_command


def settings_env(settings: Settings) -> dict[str, str]:
    """The LINEAGE_* variables that make a component build exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    for name, value in settings.model_dump().items():
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"LINEAGE_{name.upper()}"] = str(value)
    return env


@contextmanager
def running(settings: Settings, *components: str, log_dir: Path) -> Iterator[list[subprocess.Popen[Any]]]:
    """Start components as child processes; stop them (SIGTERM, then SIGKILL) on exit."""
    procs = []
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        for name in components:
            with (log_dir / f"{name}-{len(procs)}.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        lineage_command(name), env=settings_env(settings), stdout=log, stderr=subprocess.STDOUT
                    )
                )
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


COMPONENT_LOG = re.compile(r"[a-z]+-\d+\.log")


def logs(log_dir: Path) -> str:
    """The end of every component log under ``log_dir`` (``running`` names them NAME-N.log)."""
    found = sorted(p for p in log_dir.rglob("*.log") if COMPONENT_LOG.fullmatch(p.name))
    return "\n".join(f"--- {p.relative_to(log_dir)}\n{p.read_text(errors='replace')[-3000:]}" for p in found)


def topic_trace(bootstrap: str, topic: str, keys: set[bytes], describe: Callable[[bytes], str]) -> str:
    """Every record of ``topic`` whose key is in ``keys``: partition, offset, key and ``describe(value)``,
    for a failure message that shows what went where."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"trace-{uuid.uuid4().hex[:8]}"})
    lines = []
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        deadline = time.monotonic() + 30
        while ends and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            partition, offset = msg.partition() or 0, msg.offset() or 0
            value = msg.value() or b""
            # The runs topic carries routed batches: each event in one, with its own key.
            records = [(r.key, r.value) for r in unpack(value)] if is_batch(value) else [(msg.key(), value)]
            for key, record in records:
                if key in keys:
                    lines.append(f"{topic}[{partition}]@{offset} {key!r}: {describe(record)}")
            if offset + 1 >= ends.get(partition, 0):
                ends.pop(partition, None)
    finally:
        consumer.close()
    return "\n".join(lines)


def wait_for(
    check: Callable[[], Any],
    timeout: float,
    what: str,
    on_timeout: Callable[[], str],
    procs: list[subprocess.Popen[Any]] = (),  # type: ignore[assignment]
) -> Any:
    """Poll ``check`` until it returns something truthy; fail with context after ``timeout``,
    or at once if one of ``procs`` exited."""
    deadline = time.monotonic() + timeout
    while True:
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            code, which = dead[0].returncode, " ".join(str(a) for a in dead[0].args[-1:])
            raise AssertionError(f"`{which}` exited (code {code}) while waiting for {what}\n{on_timeout()}")
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{on_timeout()}")
        time.sleep(0.5)


def isolated_settings(services: Any, prefix: str, home: Path) -> Settings:
    """Settings for the real services with topics and consumer groups of their own."""
    tag = f"{prefix}-{uuid.uuid4().hex[:10]}"
    return Settings(
        kafka_bootstrap=services.kafka_bootstrap,
        neo4j_uri=services.neo4j_uri,
        neo4j_user=services.neo4j_user,
        neo4j_password=services.neo4j_password,
        events_topic=f"{tag}.openlineage.events",
        dlq_topic=f"{tag}.openlineage.events.dlq",
        runs_topic=f"{tag}.lineage.runs",
        graph_topic=f"{tag}.lineage.graph",
        graph_dlq_topic=f"{tag}.lineage.graph.dlq",
        processor_group=f"{tag}-processor",
        sink_group=f"{tag}-sink",
        topic_partitions=3,
        home=home,
        # Several components of a kind run at once in some tests: operations ports only where a test
        # asks for them (tests/integration/test_operations.py).
        ingest_metrics_port=0,
        processor_metrics_port=0,
        sink_metrics_port=0,
        api_metrics_port=0,
    )
