"""A component's operations port: ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz``.

A small threaded HTTP server beside the component's own work, so that a scrape or a probe is
answered however busy the component is. ``/healthz`` answers 200 while the component is alive
(its main loop turns) and 503 when it is stuck: restart it. ``/readyz`` answers 200 once it is
connected and has its partitions, and 503 while it starts or waits for Kafka or Neo4j: do not
count on it. Both bodies are JSON: ``{"status": ..., "detail": ...}``.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder

from observability import metrics
from observability.health import Health, Verdict

logger = logging.getLogger(__name__)


class PortTaken(RuntimeError):
    """The operations port is in use; the message names the setting to change."""


class OperationsServer:
    def __init__(self, host: str, port: int, health: Health, registry: CollectorRegistry = REGISTRY) -> None:
        handler = _handler(health, registry)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="operations-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> OperationsServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_operations(component: str, host: str, port: int, setting: str, health: Health) -> OperationsServer | None:
    """Start the operations port of ``component`` (None when ``port`` is 0: off). Raises PortTaken
    naming ``setting`` when the port is in use."""
    metrics.register(component)
    metrics.BUILD.info({"component": component, "version": _version()})
    metrics.READY.set_function(lambda: 1.0 if health.readiness().ok else 0.0)
    if port == 0:
        return None
    try:
        server = OperationsServer(host, port, health).start()
    except OSError as exc:
        raise PortTaken(
            f"the metrics and health port {host}:{port} cannot be opened ({exc.strerror}): is another "
            f"`lineage {component}` running on this host? Set {setting} to a free port, or to 0 to turn "
            "metrics and health checks off."
        ) from exc
    logger.info("metrics on http://%s:%d/metrics, health on /healthz and /readyz", host, server.port)
    return server


def _handler(health: Health, registry: CollectorRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
                self._reply(200, content_type, encoder(registry))
            elif path in ("/healthz", "/readyz"):
                verdict: Verdict = health.liveness() if path == "/healthz" else health.readiness()
                body = json.dumps(verdict.as_dict()).encode()
                self._reply(200 if verdict.ok else 503, "application/json", body)
            else:
                self._reply(404, "text/plain", b"not found: try /metrics, /healthz or /readyz\n")

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
            pass  # a scrape every few seconds is not worth a log line

    return Handler


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lineage-stream")
    except PackageNotFoundError:
        return "unknown"
