"""Metrics and health for the HTTP components (``lineage ingest``, ``lineage api``): an ASGI
middleware that times each request and sees its status, and beats the health check while the
server's event loop turns. A component that went unready (a 503: Kafka or Neo4j away) is checked
again every few seconds with ``recheck``, so that it turns ready without waiting for traffic an
orchestrator would not send it while it is unready."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from observability.health import Health

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# (path, status, seconds) of each request the middleware saw.
Observe = Callable[[str, int, float], None]
# Returns if what the component depends on answers; raises if not.
Recheck = Callable[[], Awaitable[object]]

BEAT_SECONDS = 1.0
RECHECK_SECONDS = 5.0


class RequestMetrics:
    def __init__(self, app: ASGIApp, observe: Observe, health: Health, recheck: Recheck | None = None) -> None:
        self._app = app
        self._observe = observe
        self._health = health
        self._recheck = recheck
        self._beating: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self._beating is None:
            self._beating = asyncio.get_running_loop().create_task(self._beat())
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an app that raised before answering

        async def seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, seen)
        finally:
            self._observe(scope.get("path", ""), status, time.perf_counter() - started)

    async def _beat(self) -> None:
        self._health.ready()
        last_check = 0.0
        while True:
            self._health.beat()
            now = time.monotonic()
            if self._recheck is not None and now - last_check >= RECHECK_SECONDS and not self._health.readiness().ok:
                last_check = now
                try:
                    await asyncio.wait_for(self._recheck(), RECHECK_SECONDS)
                except Exception:  # noqa: BLE001  # still away: stay unready, look again later
                    pass
                else:
                    self._health.ready()
            await asyncio.sleep(BEAT_SECONDS)
