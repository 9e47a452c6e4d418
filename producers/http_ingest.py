"""The HTTP endpoint OpenLineage's HTTP transport speaks, as Marquez serves it.

``POST /api/v1/lineage`` takes one JSON event (``Content-Encoding: gzip`` allowed, as the Python
client sends with ``compression="gzip"``) and answers only once Kafka has it:

| status | when | body |
| --- | --- | --- |
| 201 | Kafka acknowledged the event (acks=all) | ``{}`` |
| 400 | the event is invalid (reasons: lineage.events.REASONS) or the gzip is broken (bad-encoding) | error |
| 401 | API keys are configured and the ``Authorization: Bearer <key>`` is missing or wrong | error |
| 413 | Content-Length, the body or the decompressed body is over LINEAGE_MAX_EVENT_BYTES | error |
| 415 | a content type other than JSON, or a content coding other than gzip | error |
| 503 | Kafka did not acknowledge within the timeout or refused the event: retry later | error |

An error body is ``{"reason": code, "message": text, "errors": [{"loc", "msg"}]}``. The event
goes to Kafka byte for byte as it was sent (decompressed), keyed like the OpenLineage clients key
it (lineage.message_key). The OpenLineage clients retry 5xx answers, so a 503 never loses an event.

``GET /api/v1/health`` and ``GET /health`` answer 200 ``{"status": "ok"}`` when Kafka answers a
metadata request for the events topic within 2 s and the producer has no fatal error; else 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import zlib
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lineage.events import InvalidEvent, decode_event
from lineage.message_key import message_key
from lineage.settings import Settings
from observability import metrics
from observability.asgi import RequestMetrics
from observability.health import Health
from observability.server import serve_operations
from producers.async_publisher import ACK_TIMEOUT, HEALTH_TIMEOUT, AsyncKafkaPublisher, PublishFailed
from producers.topics import ensure_settings_topics

logger = logging.getLogger(__name__)

RETRY_AFTER = "5"  # seconds, on 503


class Publisher(Protocol):
    """The seam between the endpoint and Kafka (AsyncKafkaPublisher; a fake in unit tests)."""

    async def publish(self, raw: bytes, key: str | None) -> None:
        """Return once Kafka acknowledged the event; raise PublishFailed if it will not."""

    async def check(self) -> None:
        """Return if Kafka is reachable for the events topic; raise PublishFailed if not."""

    async def aclose(self) -> None:
        """Deliver what is queued and stop; called once the server has finished its requests."""


class _Refused(Exception):
    def __init__(self, status: int, reason: str, message: str, errors: Sequence[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.errors = list(errors) if errors else [{"loc": "", "msg": message}]


def create_app(settings: Settings, publisher: Publisher, *, ack_timeout: float = ACK_TIMEOUT) -> Starlette:
    """The ASGI app; on shutdown it flushes ``publisher`` (after the server's last request)."""
    keys = [key.encode() for key in sorted(settings.api_keys)]
    limit = settings.max_event_bytes

    async def lineage(request: Request) -> Response:
        key: str | None = None
        try:
            if keys and not _authorized(request.headers.get("authorization"), keys):
                raise _Refused(401, "unauthorized", "send a valid API key as `Authorization: Bearer <key>`")
            _check_content_type(request.headers.get("content-type"))
            body = await _read_body(request, limit)
            raw = _decode_content(body, request.headers.get("content-encoding"), limit)
            try:
                decode_event(raw, limit)
            except InvalidEvent as exc:
                raise _Refused(413 if exc.reason == "too-large" else 400, exc.reason, exc.message, exc.errors) from exc
            key = _key_of(raw)
            await _publish(publisher, raw, key, ack_timeout)
        except _Refused as refused:
            log = logger.warning if refused.status >= 500 else logger.info
            log(
                "event refused status=%d reason=%s key=%s message=%s",
                refused.status,
                refused.reason,
                key,
                refused.message,
            )
            return _error(refused)
        logger.debug("event accepted key=%s bytes=%d", key, len(raw))
        return JSONResponse({}, status_code=201)

    async def health(_request: Request) -> Response:
        try:
            await asyncio.wait_for(publisher.check(), HEALTH_TIMEOUT)
        except (PublishFailed, TimeoutError) as exc:
            message = str(exc) or f"Kafka did not answer within {HEALTH_TIMEOUT:.0f}s"
            return JSONResponse(
                {"status": "unavailable", "reason": "kafka-unavailable", "message": message}, status_code=503
            )
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await publisher.aclose()

    return Starlette(
        routes=[
            Route("/api/v1/lineage", lineage, methods=["POST"]),
            Route("/api/v1/health", health, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _key_of(raw: bytes) -> str | None:
    try:
        return message_key(orjson.loads(raw))
    except (ValueError, RecursionError):  # decode_event accepted it, so this is not expected
        return None


def _authorized(header: str | None, keys: list[bytes]) -> bool:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Headers arrive latin-1 decoded; compare the bytes sent, against every key, in constant time.
    candidate = token.strip().encode("latin-1")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(candidate, key)
    return matched


def _check_content_type(content_type: str | None) -> None:
    if content_type is None:
        return
    media = content_type.partition(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise _Refused(415, "unsupported-media-type", f"send JSON (Content-Type: application/json), not {media!r}")


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is over ``limit``: never buffered beyond."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise _Refused(400, "bad-request", f"Content-Length {declared!r} is not a number")
        if int(declared) > limit:
            raise _Refused(413, "too-large", f"a body of {int(declared)} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, "too-large", f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode_content(body: bytes, encoding: str | None, limit: int) -> bytes:
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip().lower() not in ("", "identity")]
    if not codings:
        return body
    if codings not in (["gzip"], ["x-gzip"]):
        raise _Refused(415, "unsupported-encoding", f"Content-Encoding {encoding!r}: only gzip is supported")
    return _gunzip(body, limit)


def _gunzip(body: bytes, limit: int) -> bytes:
    """Decompress gzip (one or more members) producing at most ``limit`` bytes: a bomb stops there."""
    out = bytearray()
    data = body
    while data:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))  # max_length >= 1: 0 would mean unbounded
        except zlib.error as exc:
            raise _Refused(400, "bad-encoding", f"the body is not valid gzip ({exc})") from exc
        if len(out) > limit or inflater.unconsumed_tail:
            raise _Refused(413, "too-large", f"the decompressed event is over the limit of {limit} bytes")
        if not inflater.eof:
            raise _Refused(400, "bad-encoding", "the gzip body is truncated")
        data = inflater.unused_data
    return bytes(out)


async def _publish(publisher: Publisher, raw: bytes, key: str | None, ack_timeout: float) -> None:
    try:
        await asyncio.wait_for(publisher.publish(raw, key), ack_timeout)
    except TimeoutError as exc:
        raise _Refused(
            503, "kafka-unavailable", f"Kafka did not acknowledge the event within {ack_timeout:.0f}s; retry later"
        ) from exc
    except PublishFailed as exc:
        if exc.too_large:
            raise _Refused(413, "too-large", f"Kafka refused the event's size: {exc}") from exc
        raise _Refused(503, "kafka-unavailable", f"Kafka did not take the event ({exc}); retry later") from exc


def _error(refused: _Refused) -> JSONResponse:
    headers = {}
    if refused.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    elif refused.status == 503:
        headers["Retry-After"] = RETRY_AFTER
    body: dict[str, Any] = {"reason": refused.reason, "message": refused.message, "errors": refused.errors}
    return JSONResponse(body, status_code=refused.status, headers=headers)


def ingest_server(
    settings: Settings, publisher: Publisher, *, ack_timeout: float = ACK_TIMEOUT, health: Health | None = None
) -> uvicorn.Server:
    """A uvicorn server for the app on settings.ingest_host:ingest_port, logging through ours;
    counting and timing each event POSTed (``lineage_ingest_*``)."""
    health = health or Health(settings.health_stuck_seconds)

    def observe(path: str, status: int, seconds: float) -> None:
        if path != "/api/v1/lineage":
            return
        metrics.INGEST_REQUESTS.labels(str(status)).inc()
        metrics.INGEST_SECONDS.observe(seconds)
        if status == 201:
            metrics.RECORDS_PRODUCED.labels(settings.events_topic).inc()
            health.ready()
        elif status == 503:
            health.not_ready("kafka-unavailable", "Kafka did not take an event")

    config = uvicorn.Config(
        RequestMetrics(create_app(settings, publisher, ack_timeout=ack_timeout), observe, health, publisher.check),
        host=settings.ingest_host,
        port=settings.ingest_port,
        lifespan="on",
        log_config=None,  # keep configure_logging()'s set-up
        access_log=False,  # refusals are logged above; 201s would flood the log
        # In-flight requests get their acknowledgement (or their 503) before the flush.
        timeout_graceful_shutdown=int(ack_timeout) + 5,
    )
    return uvicorn.Server(config)


def run_ingest(settings: Settings, *, ack_timeout: float = ACK_TIMEOUT) -> None:
    """Serve the endpoint until SIGTERM/SIGINT, then finish requests and flush the producer."""
    health = Health(settings.health_stuck_seconds)
    serve_operations(
        "ingest", settings.metrics_host, settings.ingest_metrics_port, "LINEAGE_INGEST_METRICS_PORT", health
    )
    ensure_settings_topics(settings, [settings.events_topic])
    publisher = AsyncKafkaPublisher(
        settings.kafka_bootstrap,
        settings.events_topic,
        ack_timeout=ack_timeout,
        extra_config=settings.kafka_security_config,
    )
    server = ingest_server(settings, publisher, ack_timeout=ack_timeout, health=health)
    logger.info(
        "OpenLineage HTTP ingest url=http://%s:%d/api/v1/lineage topic=%s auth=%s",
        settings.ingest_host,
        settings.ingest_port,
        settings.events_topic,
        "bearer" if settings.api_keys else "none",
    )
    try:
        server.run()
    finally:
        publisher.close()  # a no-op when the app's shutdown flushed already (not after a forced exit)
