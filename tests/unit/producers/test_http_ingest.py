"""The HTTP ingest endpoint's answers, with a fake publisher in place of Kafka."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from lineage.events import InvalidEvent
from lineage.settings import Settings
from producers import http_ingest
from producers.async_publisher import PublishFailed
from producers.http_ingest import create_app
from tests.unit.factories import REAL_EVENTS

CLIENT_PYTHON = REAL_EVENTS / "other" / "client-python"
EVENT = (CLIENT_PYTHON / "serde_example_run_event.json").read_bytes()
LIMIT = 4096
URL = "/api/v1/lineage"
JSON = {"Content-Type": "application/json"}


class FakePublisher:
    """Records what it is given; fails with ``fail``; never answers when ``hang``."""

    def __init__(self, fail: Exception | None = None, hang: bool = False, healthy: bool = True) -> None:
        self.sent: list[tuple[bytes, str | None]] = []
        self.fail, self.hang, self.healthy = fail, hang, healthy
        self.closed = False

    async def publish(self, raw: bytes, key: str | None) -> None:
        if self.hang:
            await asyncio.Event().wait()
        if self.fail:
            raise self.fail
        self.sent.append((raw, key))

    async def check(self) -> None:
        if not self.healthy:
            raise PublishFailed("Kafka did not answer")

    async def aclose(self) -> None:
        self.closed = True


def client_for(publisher: FakePublisher, api_keys: str = "", ack_timeout: float = 5.0) -> TestClient:
    settings = Settings(max_event_bytes=LIMIT, ingest_api_keys=api_keys)
    return TestClient(create_app(settings, publisher, ack_timeout=ack_timeout))


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def client(publisher: FakePublisher) -> Iterator[TestClient]:
    with client_for(publisher) as client:
        yield client


def assert_error(response: object, status: int, reason: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["reason"] == reason
    assert body["message"]
    assert body["errors"] and all({"loc", "msg"} <= set(e) for e in body["errors"])
    return body  # type: ignore[no-any-return]


def test_a_valid_event_is_published_as_sent_with_the_client_key(client: TestClient, publisher: FakePublisher) -> None:
    response = client.post(URL, content=EVENT, headers=JSON)
    assert response.status_code == 201
    assert response.json() == {}
    assert publisher.sent == [(EVENT, "run:openlineage/name")]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("serde_example_dataset_event.json", "dataset:openlineage/name"),
        ("serde_example_job_event.json", "job:openlineage/name"),
    ],
)
def test_dataset_and_job_events_are_published_too(
    client: TestClient, publisher: FakePublisher, name: str, key: str
) -> None:
    raw = (CLIENT_PYTHON / name).read_bytes()
    assert client.post(URL, content=raw, headers=JSON).status_code == 201
    assert publisher.sent == [(raw, key)]


def test_a_gzip_body_is_published_decompressed(client: TestClient, publisher: FakePublisher) -> None:
    response = client.post(URL, content=gzip.compress(EVENT), headers=JSON | {"Content-Encoding": "gzip"})
    assert response.status_code == 201
    assert publisher.sent == [(EVENT, "run:openlineage/name")]


def test_garbage_is_refused_with_a_reason(client: TestClient, publisher: FakePublisher) -> None:
    assert_error(client.post(URL, content=b"{not json", headers=JSON), 400, "not-json")
    assert publisher.sent == []


def test_an_event_without_run_id_is_refused(client: TestClient, publisher: FakePublisher) -> None:
    event = json.loads(EVENT)
    del event["run"]["runId"]
    body = assert_error(client.post(URL, json=event), 400, "missing-run-id")
    assert body["errors"] == [{"loc": "run.runId", "msg": "Field required"}]
    assert publisher.sent == []


def test_an_oversize_body_is_refused_by_its_content_length(client: TestClient, publisher: FakePublisher) -> None:
    body = b" " * LIMIT + EVENT
    assert_error(client.post(URL, content=body, headers=JSON), 413, "too-large")
    assert publisher.sent == []


def test_an_oversize_body_without_content_length_is_refused_while_read(
    client: TestClient, publisher: FakePublisher
) -> None:
    def chunks() -> Iterator[bytes]:
        yield EVENT
        for _ in range(100):
            yield b" " * 1024

    response = client.post(URL, content=chunks(), headers=JSON)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error(response, 413, "too-large")
    assert publisher.sent == []


def test_a_gzip_bomb_is_refused_once_the_limit_is_reached(client: TestClient, publisher: FakePublisher) -> None:
    bomb = gzip.compress(b" " * 3_000_000)  # deflate tops out near 1000:1
    assert len(bomb) < LIMIT
    assert_error(client.post(URL, content=bomb, headers=JSON | {"Content-Encoding": "gzip"}), 413, "too-large")
    assert publisher.sent == []


def test_broken_gzip_is_refused(client: TestClient) -> None:
    headers = JSON | {"Content-Encoding": "gzip"}
    assert_error(client.post(URL, content=b"not gzip", headers=headers), 400, "bad-encoding")
    assert_error(client.post(URL, content=gzip.compress(EVENT)[:-12], headers=headers), 400, "bad-encoding")


def test_an_unknown_content_type_or_encoding_is_refused(client: TestClient) -> None:
    text = {"Content-Type": "text/plain"}
    assert_error(client.post(URL, content=EVENT, headers=text), 415, "unsupported-media-type")
    brotli = JSON | {"Content-Encoding": "br"}
    assert_error(client.post(URL, content=EVENT, headers=brotli), 415, "unsupported-encoding")


def test_too_large_from_the_decoder_is_413(monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
    def decode(raw: bytes, max_bytes: int | None = None) -> object:
        raise InvalidEvent("too-large", "over the limit")

    monkeypatch.setattr(http_ingest, "decode_event", decode)
    assert_error(client.post(URL, content=EVENT, headers=JSON), 413, "too-large")


def test_api_keys_are_required_when_configured(publisher: FakePublisher) -> None:
    with client_for(publisher, api_keys="first-key, second-key") as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic second-key"}):
            response = client.post(URL, content=EVENT, headers=JSON | headers)
            assert_error(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"] == "Bearer"
        # Authentication comes before anything about the body.
        assert_error(client.post(URL, content=b" " * 2 * LIMIT, headers=JSON), 401, "unauthorized")
        assert publisher.sent == []
        assert client.post(URL, content=EVENT, headers=JSON | {"Authorization": "Bearer second-key"}).status_code == 201
        assert client.post(URL, content=EVENT, headers=JSON | {"Authorization": "bearer first-key"}).status_code == 201
    assert len(publisher.sent) == 2


def test_no_key_is_needed_without_api_keys(client: TestClient) -> None:
    assert client.post(URL, content=EVENT, headers=JSON | {"Authorization": "Bearer anything"}).status_code == 201


def test_a_failed_delivery_is_503_to_retry(publisher: FakePublisher) -> None:
    with client_for(FakePublisher(fail=PublishFailed("Local: Message timed out"))) as client:
        response = client.post(URL, content=EVENT, headers=JSON)
    body = assert_error(response, 503, "kafka-unavailable")
    assert "Message timed out" in str(body["message"])
    assert response.headers["Retry-After"]


def test_no_acknowledgement_in_time_is_503() -> None:
    with client_for(FakePublisher(hang=True), ack_timeout=0.2) as client:
        body = assert_error(client.post(URL, content=EVENT, headers=JSON), 503, "kafka-unavailable")
    assert "did not acknowledge" in str(body["message"])


def test_an_event_kafka_finds_too_large_is_413() -> None:
    with client_for(FakePublisher(fail=PublishFailed("Broker: Message size too large", too_large=True))) as client:
        assert_error(client.post(URL, content=EVENT, headers=JSON), 413, "too-large")


def test_health_says_ok_when_kafka_answers(client: TestClient) -> None:
    for path in ("/api/v1/health", "/health"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


def test_health_says_unavailable_when_kafka_does_not_answer() -> None:
    with client_for(FakePublisher(healthy=False)) as client:
        response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "Kafka" in response.json()["message"]


def test_only_post_is_served_on_the_lineage_path(client: TestClient) -> None:
    assert client.get(URL).status_code == 405


def test_the_publisher_is_flushed_when_the_app_shuts_down(publisher: FakePublisher) -> None:
    with client_for(publisher):
        assert not publisher.closed
    assert publisher.closed
