"""``lineage api``: the queries over HTTP, read-only, JSON in and out.

| route | parameters | answer |
| --- | --- | --- |
| ``GET /api/v1/impact`` | ``namespace``, ``name``; optional ``field``, ``depth``, ``since`` | ``Lineage`` |
| ``GET /api/v1/upstream`` | ``namespace`` and ``name``, or ``runId``; optional ``depth`` | ``Lineage`` |
| ``GET /api/v1/root-cause`` | ``runId``, optional ``depth``, ``recent`` | a list of ``Cause`` |
| ``GET /api/v1/job-runs`` | ``namespace``, ``name``, optional ``limit`` | a list of runs |
| ``GET /api/v1/health`` | | 200 when Neo4j answers |

Errors: 400 for a missing or malformed parameter, 404 for an unknown dataset, column, run or
job, 503 when Neo4j cannot be reached; the body is ``{"reason": ..., "message": ...}``. Queries
run in Neo4j read transactions, in a worker thread, so a slow query does not block the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

import neo4j
import uvicorn
from neo4j.exceptions import DriverError, Neo4jError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lineage.settings import Settings
from queries.lineage_queries import RECENT_WRITES, NotFound, downstream, root_cause, runs_of_job, upstream

logger = logging.getLogger(__name__)


class BadRequest(ValueError):
    pass


def create_api(driver: neo4j.Driver) -> Starlette:
    def endpoint(query: Callable[[dict[str, str]], Any]) -> Callable[[Request], Any]:
        async def handle(request: Request) -> JSONResponse:
            try:
                result = await run_in_threadpool(query, dict(request.query_params))
            except NotFound as exc:
                return _error(404, "not-found", str(exc))
            except (BadRequest, ValueError) as exc:
                return _error(400, "bad-request", str(exc))
            except (DriverError, Neo4jError) as exc:
                logger.warning("query failed: %s", exc)
                return _error(503, "neo4j-unavailable", f"Neo4j did not answer: {exc}")
            return JSONResponse(result)

        return handle

    def impact(q: dict[str, str]) -> Any:
        found = downstream(
            driver, _required(q, "namespace"), _required(q, "name"), _depth(q), _since(q), q.get("field")
        )
        return found.as_dict()

    def upstream_of(q: dict[str, str]) -> Any:
        if "runId" in q:
            return upstream(driver, run_id=q["runId"], depth=_depth(q)).as_dict()
        return upstream(driver, _required(q, "namespace"), _required(q, "name"), depth=_depth(q)).as_dict()

    def cause(q: dict[str, str]) -> Any:
        recent = _int(q, "recent", RECENT_WRITES)
        return [asdict(c) for c in root_cause(driver, _required(q, "runId"), _depth(q), recent)]

    def job_runs(q: dict[str, str]) -> Any:
        return runs_of_job(driver, _required(q, "namespace"), _required(q, "name"), _int(q, "limit", 20))

    def health(_q: dict[str, str]) -> Any:
        driver.verify_connectivity()
        return {"status": "ok"}

    return Starlette(
        routes=[
            Route("/api/v1/impact", endpoint(impact)),
            Route("/api/v1/upstream", endpoint(upstream_of)),
            Route("/api/v1/root-cause", endpoint(cause)),
            Route("/api/v1/job-runs", endpoint(job_runs)),
            Route("/api/v1/health", endpoint(health)),
        ]
    )


def _error(status: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse({"reason": reason, "message": message}, status_code=status)


def _required(q: dict[str, str], name: str) -> str:
    value = q.get(name)
    if not value:
        raise BadRequest(f"missing query parameter {name!r}")
    return value


def _int(q: dict[str, str], name: str, default: int) -> int:
    try:
        return int(q.get(name, default))
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {q[name]!r}") from None


def _depth(q: dict[str, str]) -> int:
    return _int(q, "depth", 5)


def _since(q: dict[str, str]) -> datetime | None:
    if "since" not in q:
        return None
    try:
        return datetime.fromisoformat(q["since"])
    except ValueError:
        raise BadRequest(f"since must be an ISO 8601 time, got {q['since']!r}") from None


def run_api(settings: Settings) -> None:
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, **settings.neo4j_driver_options) as driver:
        logger.info(
            "query API on http://%s:%d/api/v1 neo4j=%s", settings.api_host, settings.api_port, settings.neo4j_uri
        )
        uvicorn.run(create_api(driver), host=settings.api_host, port=settings.api_port, log_level="warning")
