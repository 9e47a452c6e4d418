"""Who may read: the query API's read keys (LINEAGE_READ_API_KEYS).

With no read keys set (the loopback default) anyone who reaches ``lineage api`` may read. With
keys set, every ``/api/*`` route but ``GET /api/v1/health`` needs one of them as
``Authorization: Bearer <key>``, else it answers 401 with a JSON error:

| reason | when |
| --- | --- |
| ``missing-api-key`` | no ``Authorization: Bearer`` header |
| ``invalid-api-key`` | a key that is not one of the read keys |

The explorer's files (everything outside ``/api``) are served without a key: they hold no data,
and the page asks for a key when the API answers 401. Keys are compared in constant time (as
SHA-256 digests, so that not even a key's length shows in the timing), and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/api/v1/health"})  # answers whether Neo4j is up, nothing of the graph
MISSING = "missing-api-key"
INVALID = "invalid-api-key"
MESSAGES = {
    MISSING: "this lineage API needs an API key: send it as `Authorization: Bearer <key>`",
    INVALID: "the API key was refused: send a valid read key as `Authorization: Bearer <key>`",
}


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


class ReadKeys:
    """The keys that may read; ``check`` tells an ``Authorization`` header's fate."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = [_digest(key.encode()) for key in sorted(set(keys)) if key]

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def check(self, header: str | None) -> str | None:
        """None if ``header`` carries a read key (or none are set), else MISSING or INVALID."""
        if not self._digests:
            return None
        scheme, _, token = (header or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return MISSING
        # Headers arrive latin-1 decoded: compare the bytes sent, against every key, without an early exit.
        candidate = _digest(token.encode("latin-1"))
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(candidate, digest)
        return None if matched else INVALID


def guarded(path: str) -> bool:
    """Whether ``path`` is one of the API's (which need a key), not the explorer's files."""
    return (path == "/api" or path.startswith("/api/")) and path not in OPEN_PATHS


class RequireReadKey:
    """ASGI middleware: the API's routes answer 401 without a read key; the rest passes."""

    def __init__(self, app: ASGIApp, keys: ReadKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys.enabled or not guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        refused = self.keys.check(Headers(scope=scope).get("authorization"))
        if refused is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        logger.info(
            "query API refused method=%s path=%s reason=%s client=%s",
            scope.get("method"),
            scope["path"],
            refused,
            client[0] if client else None,
        )
        challenge = 'Bearer realm="lineage"' + (', error="invalid_token"' if refused == INVALID else "")
        response = JSONResponse(
            {"reason": refused, "message": MESSAGES[refused]},
            status_code=401,
            headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"},
        )
        await response(scope, receive, send)
