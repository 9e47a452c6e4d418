"""Running the product's real components (``lineage process`` / ``lineage sink``) in tests."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def logs(log_dir: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(log_dir.glob("*.log")))


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
            code = dead[0].returncode
            raise AssertionError(f"a component exited (code {code}) while waiting for {what}\n{on_timeout()}")
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
    )
