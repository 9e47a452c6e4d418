"""``lineage api``: the queries over HTTP, read-only, JSON in and out.

| route | parameters | answer |
| --- | --- | --- |
| ``GET /api/v1/impact`` | a dataset; optional ``field``, ``depth``, ``since`` | ``Lineage`` |
| ``GET /api/v1/upstream`` | a dataset, or ``runId``; optional ``depth`` | ``Lineage`` |
| ``GET /api/v1/root-cause`` | ``runId``, optional ``depth``, ``recent`` | a list of ``Cause`` |
| ``GET /api/v1/job-runs`` | ``namespace``, ``name``, optional ``limit`` | a list of runs |
| ``GET /api/v1/health`` | | 200 when Neo4j answers |
| ``GET /api/v1/search`` | ``q``, optional ``limit`` | ranked datasets, jobs and columns (``queries.search``) |
| ``GET /api/v1/lineage`` | a node; optional ``depth``, ``direction``, ``since``, ``limit`` | nodes, edges, collapsed |
| ``GET /api/v1/neighbours`` | a node, ``side``; optional ``q``, ``offset``, ``limit``, ``since`` | a side, paged |
| ``GET /api/v1/dataset`` | ``namespace``, ``name`` | a dataset's details (``queries.details``) |
| ``GET /api/v1/job`` | ``namespace``, ``name``; optional ``runs`` | a job's details and latest runs |
| ``GET /api/v1/run`` | ``runId`` | a run's details |
| ``GET /api/v1/column-lineage`` | a dataset, ``field``; optional ``depth`` | the columns it comes from and feeds |
| ``GET /api/v1/access`` | | ``{"readKeys": bool}`` (with read keys on, only to a caller with one) |

A node is ``kind`` (dataset or job), ``namespace`` and ``name`` (``queries.neighbourhood``, which
also walks the lineage; details in ``queries.details``, search in ``queries.search``). Everything
outside ``/api`` is the lineage explorer (``queries.explorer_assets``), a client of these routes.

A dataset is named by ``namespace`` and ``name`` or by one string, ``dataset`` (such as
``postgresql://DB/shop.public.orders``); either is normalised as ingestion normalises identities,
so any spelling the naming rules join finds the node. A run id of text finds the run it keyed.

With read keys set (LINEAGE_READ_API_KEYS), every ``/api`` route but ``/api/v1/health`` answers 401
without one of them as ``Authorization: Bearer <key>`` (``queries.access``).

Errors: 400 for a missing or malformed parameter, 404 for an unknown dataset, column, run or
job, 503 when Neo4j cannot be reached; the body is ``{"reason": ..., "message": ...}``, and a 404
adds ``lookedFor`` (the identity as looked up, normalised) and ``similar`` (up to five that exist). Queries
run in Neo4j read transactions, in a worker thread, so a slow query does not block the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import neo4j
import uvicorn
from neo4j.exceptions import DriverError, Neo4jError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from lineage.settings import Settings
from observability import metrics
from observability.asgi import Recheck, RequestMetrics
from observability.health import Health
from observability.server import serve_operations
from queries.access import ReadKeys, RequireReadKey
from queries.details import dataset_details, job_details, run_details
from queries.explorer_assets import UI_DIR, explorer_routes
from queries.lineage_queries import downstream, runs_of_job, upstream
from queries.lookup import NotFound
from queries.neighbourhood import column_lineage, neighbourhood, neighbours
from queries.root_cause import RECENT_WRITES, root_cause
from queries.search import search
from sinks.neo4j_writer import unavailable

logger = logging.getLogger(__name__)


class BadRequest(ValueError):
    pass


def create_api(driver: neo4j.Driver, ui_dir: Path = UI_DIR, read_keys: Iterable[str] = ()) -> Starlette:
    """The API and the explorer; with ``read_keys``, the API's routes need one of them."""
    keys = ReadKeys(read_keys)

    def endpoint(query: Callable[[dict[str, str]], Any]) -> Callable[[Request], Any]:
        async def handle(request: Request) -> JSONResponse:
            try:
                result = await run_in_threadpool(query, dict(request.query_params))
            except NotFound as exc:
                return _error(404, "not-found", str(exc), exc.as_dict())
            except (BadRequest, ValueError) as exc:
                return _error(400, "bad-request", str(exc))
            except (DriverError, Neo4jError) as exc:
                logger.warning("query failed: %s", exc)
                return _error(503, "neo4j-unavailable", f"Neo4j did not answer: {exc}")
            return JSONResponse(result)

        return handle

    def impact(q: dict[str, str]) -> Any:
        namespace, name = _dataset(q)
        return downstream(driver, namespace, name, _depth(q), _since(q), q.get("field")).as_dict()

    def upstream_of(q: dict[str, str]) -> Any:
        if "runId" in q:
            return upstream(driver, run_id=q["runId"], depth=_depth(q)).as_dict()
        namespace, name = _dataset(q)
        return upstream(driver, namespace, name, depth=_depth(q)).as_dict()

    def cause(q: dict[str, str]) -> Any:
        recent = _int(q, "recent", RECENT_WRITES)
        return [asdict(c) for c in root_cause(driver, _required(q, "runId"), _depth(q), recent)]

    def job_runs(q: dict[str, str]) -> Any:
        return runs_of_job(driver, _required(q, "namespace"), _required(q, "name"), _int(q, "limit", 20))

    def health(_q: dict[str, str]) -> Any:
        driver.verify_connectivity()
        return {"status": "ok"}

    def find(q: dict[str, str]) -> Any:
        return search(driver, q.get("q", ""), _int(q, "limit", 20))

    def around(q: dict[str, str]) -> Any:
        return neighbourhood(
            driver,
            _kind(q),
            _required(q, "namespace"),
            _required(q, "name"),
            depth=_int(q, "depth", 2),
            direction=q.get("direction", "both"),
            since=_since(q),
            limit=_int(q, "limit", 25),
        )

    def next_to(q: dict[str, str]) -> Any:
        return neighbours(
            driver,
            _kind(q),
            _required(q, "namespace"),
            _required(q, "name"),
            side=_required(q, "side"),
            text=q.get("q", ""),
            offset=_int(q, "offset", 0),
            limit=_int(q, "limit", 100),
            since=_since(q),
        )

    def dataset(q: dict[str, str]) -> Any:
        return dataset_details(driver, _required(q, "namespace"), _required(q, "name"))

    def job(q: dict[str, str]) -> Any:
        return job_details(driver, _required(q, "namespace"), _required(q, "name"), _int(q, "runs", 20))

    def run(q: dict[str, str]) -> Any:
        return run_details(driver, _required(q, "runId"))

    def columns(q: dict[str, str]) -> Any:
        return column_lineage(driver, _required(q, "namespace"), _required(q, "name"), _required(q, "field"), _depth(q))

    async def access(_request: Request) -> JSONResponse:
        # Past the middleware: the caller may read. The explorer asks this first to know whether to prompt.
        return JSONResponse({"readKeys": keys.enabled}, headers={"Cache-Control": "no-store"})

    routes: list[BaseRoute] = [
        Route("/api/v1/impact", endpoint(impact)),
        Route("/api/v1/upstream", endpoint(upstream_of)),
        Route("/api/v1/root-cause", endpoint(cause)),
        Route("/api/v1/job-runs", endpoint(job_runs)),
        Route("/api/v1/health", endpoint(health)),
        Route("/api/v1/search", endpoint(find)),
        Route("/api/v1/lineage", endpoint(around)),
        Route("/api/v1/neighbours", endpoint(next_to)),
        Route("/api/v1/dataset", endpoint(dataset)),
        Route("/api/v1/job", endpoint(job)),
        Route("/api/v1/run", endpoint(run)),
        Route("/api/v1/column-lineage", endpoint(columns)),
        Route("/api/v1/access", access),
        Route("/api/{rest:path}", _unknown_route),
    ]
    return Starlette(routes=[*routes, *explorer_routes(ui_dir)], middleware=[Middleware(RequireReadKey, keys=keys)])


async def _unknown_route(request: Request) -> JSONResponse:
    return _error(404, "not-found", f"no API route {request.url.path}; the routes are listed in docs/explorer.md")


def _error(status: int, reason: str, message: str, more: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({"reason": reason, "message": message, **(more or {})}, status_code=status)


def _dataset(q: dict[str, str]) -> tuple[str, str | None]:
    """``namespace`` and ``name``, or ``dataset`` as one string (``name`` None)."""
    if "dataset" in q:
        return _required(q, "dataset"), None
    if "namespace" not in q and "name" not in q:
        raise BadRequest("name the dataset: `namespace` and `name`, or `dataset` (e.g. postgres://db:5432/shop.orders)")
    return _required(q, "namespace"), _required(q, "name")


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
    if not q.get("since"):
        return None
    try:
        since = datetime.fromisoformat(q["since"])
    except ValueError:
        raise BadRequest(f"since must be an ISO 8601 time, got {q['since']!r}") from None
    # A time without an offset is UTC, as the graph's times are.
    return since if since.tzinfo is not None else since.replace(tzinfo=UTC)


def _kind(q: dict[str, str]) -> str:
    kind = q.get("kind", "dataset")
    if kind not in ("dataset", "job"):
        raise BadRequest(f"kind must be dataset or job, got {kind!r}")
    return kind


def run_api(settings: Settings) -> None:
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, **settings.neo4j_driver_options) as driver:
        try:
            driver.verify_connectivity()  # a wrong address or password: one line now, not 503s later
        except (DriverError, Neo4jError) as exc:
            raise unavailable(exc, settings.neo4j_uri, settings.neo4j_user if settings.neo4j_auth else None) from exc
        logger.info(
            "lineage explorer on http://%s:%d/ (query API under /api/v1) neo4j=%s auth=%s",
            settings.api_host,
            settings.api_port,
            settings.neo4j_uri,
            f"bearer ({len(settings.read_keys)} read keys)" if settings.read_keys else "none",
        )
        app = create_api(driver, read_keys=settings.read_keys)
        served = with_metrics(app, settings, lambda: run_in_threadpool(driver.verify_connectivity))
        uvicorn.run(served, host=settings.api_host, port=settings.api_port, log_level="warning")


def with_metrics(app: Starlette, settings: Settings, recheck: Recheck | None = None) -> RequestMetrics:
    """``app`` counting and timing each request (``lineage_api_*``), on the API's operations port."""
    health = Health(settings.health_stuck_seconds)
    serve_operations("api", settings.metrics_host, settings.api_metrics_port, "LINEAGE_API_METRICS_PORT", health)
    known = {route.path for route in app.routes if isinstance(route, Route) and route.path.startswith("/api/v1/")}

    def observe(path: str, status: int, seconds: float) -> None:
        if not path.startswith("/api/"):
            return  # the explorer's files
        route = path if path in known else "other"
        metrics.API_REQUESTS.labels(route, str(status)).inc()
        metrics.API_SECONDS.labels(route).observe(seconds)
        if status == 503:
            health.not_ready("neo4j-unavailable", "Neo4j did not answer a query")
        elif 200 <= status < 300:  # a query answered (a 401 or 404 proves nothing about Neo4j)
            health.ready()

    return RequestMetrics(app, observe, health, recheck)
