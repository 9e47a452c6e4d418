import asyncio

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from observability.asgi import RequestMetrics
from observability.health import Health
from observability.metrics import neo4j_error_kind


def test_each_request_is_observed_with_its_path_and_status() -> None:
    async def ok(_: Request) -> JSONResponse:
        return JSONResponse({}, status_code=201)

    async def down(_: Request) -> JSONResponse:
        return JSONResponse({}, status_code=503)

    seen: list[tuple[str, int]] = []
    app = Starlette(routes=[Route("/ok", ok), Route("/down", down)])
    wrapped = RequestMetrics(app, lambda path, status, seconds: seen.append((path, status)), Health(60))
    with TestClient(wrapped) as client:
        client.get("/ok")
        client.get("/down")
        client.get("/missing")
    assert seen == [("/ok", 201), ("/down", 503), ("/missing", 404)]


def test_the_server_starting_makes_the_component_ready_and_its_loop_beats() -> None:
    async def ok(_: Request) -> JSONResponse:
        return JSONResponse({})

    health = Health(60)
    wrapped = RequestMetrics(Starlette(routes=[Route("/", ok)]), lambda *_: None, health)
    assert not health.readiness().ok
    with TestClient(wrapped):
        asyncio.run(asyncio.sleep(0.05))
        assert health.readiness().ok


def test_neo4j_errors_are_labelled_by_their_classification_or_class() -> None:
    class Coded(Exception):
        code = "Neo.TransientError.Transaction.DeadlockDetected"

    class ServiceUnavailable(Exception):
        pass

    assert neo4j_error_kind(Coded()) == "TransientError"
    assert neo4j_error_kind(ServiceUnavailable()) == "ServiceUnavailable"


def test_an_unready_component_is_checked_again_and_turns_ready_without_traffic(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import observability.asgi as asgi

    monkeypatch.setattr(asgi, "BEAT_SECONDS", 0.01)
    monkeypatch.setattr(asgi, "RECHECK_SECONDS", 0.01)
    answers = [RuntimeError("Kafka away"), None]

    async def recheck() -> None:
        answer = answers.pop(0) if answers else None
        if answer is not None:
            raise answer

    async def ok(_: Request) -> JSONResponse:
        return JSONResponse({})

    health = Health(60)
    wrapped = RequestMetrics(Starlette(routes=[Route("/", ok)]), lambda *_: None, health, recheck)
    with TestClient(wrapped):
        time.sleep(0.05)
        health.not_ready("kafka-unavailable")
        deadline = time.monotonic() + 5
        while not health.readiness().ok and time.monotonic() < deadline:
            time.sleep(0.01)
        assert health.readiness().ok
        assert not answers  # the first recheck failed, the second turned it ready
