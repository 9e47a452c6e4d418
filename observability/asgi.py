"""Metrics and health for the HTTP components (``lineage ingest``, ``lineage api``): an ASGI
middleware that times each request and sees its status, and beats the health check while the
server's event loop turns."""

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

BEAT_SECONDS = 1.0


class RequestMetrics:
    def __init__(self, app: ASGIApp, observe: Observe, health: Health) -> None:
        self._app = app
        self._observe = observe
        self._health = health
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
        while True:
            self._health.beat()
            await asyncio.sleep(BEAT_SECONDS)
