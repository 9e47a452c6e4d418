"""The query API's read keys: the check, which paths need a key, and the answers without one."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from lineage.settings import Settings
from queries.access import INVALID, MISSING, ReadKeys, guarded
from queries.http_api import create_api


class FakeDriver:
    def verify_connectivity(self) -> None:
        return None


def test_no_keys_means_everyone_may_read() -> None:
    keys = ReadKeys([])
    assert not keys.enabled
    assert keys.check(None) is None and keys.check("Bearer anything") is None


@pytest.mark.parametrize(
    ("header", "verdict"),
    [
        ("Bearer key-one", None),
        ("bearer key-two", None),  # the scheme is case-insensitive
        ("Bearer   key-one  ", None),
        (None, MISSING),
        ("", MISSING),
        ("Bearer", MISSING),
        ("Bearer ", MISSING),
        ("Basic a2V5LW9uZQ==", MISSING),
        ("key-one", MISSING),
        ("Bearer key-on", INVALID),
        ("Bearer key-one-and-more", INVALID),
        ("Bearer KEY-ONE", INVALID),  # the key itself is case-sensitive
        ("Bearer key-one,key-two", INVALID),
        ("Bearer ingest-key", INVALID),
        ("Bearer \xe9t\xe9", INVALID),  # latin-1 header bytes do not break the comparison
    ],
)
def test_a_read_key_is_checked(header: str | None, verdict: str | None) -> None:
    assert ReadKeys(["key-one", "key-two"]).check(header) == verdict


def test_the_comparison_runs_over_every_key_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import queries.access as access

    calls: list[tuple[bytes, bytes]] = []
    real = access.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(access.hmac, "compare_digest", spy)
    assert ReadKeys(["a", "b", "c"]).check("Bearer a") is None
    # no early exit on the first match, and digests of one length whatever the keys' lengths
    assert len(calls) == 3 and {len(a) for a, _ in calls} == {32} and {len(b) for _, b in calls} == {32}


@pytest.mark.parametrize(
    ("path", "needs_key"),
    [
        ("/api/v1/search", True),
        ("/api/v1/lineage", True),
        ("/api/v1/access", True),
        ("/api/v1/nothing-here", True),
        ("/api/v1/search/", True),
        ("/api", True),
        ("/api/v1/health", False),
        ("/", False),
        ("/assets/index-abc.js", False),
        ("/?kind=dataset", False),
        ("/apis", False),
    ],
)
def test_only_the_api_needs_a_key(path: str, needs_key: bool) -> None:
    assert guarded(path) is needs_key


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    built = tmp_path / "dist"
    (built / "assets").mkdir(parents=True)
    (built / "index.html").write_text("<!doctype html><title>Lineage explorer</title>")
    (built / "assets" / "app-1.js").write_text("console.log(1)")
    driver: Any = FakeDriver()
    return TestClient(create_api(driver, ui_dir=built, read_keys={"key-one", "key-two"}))


def test_the_api_refuses_a_missing_key_saying_how_to_send_one(client: TestClient) -> None:
    for path in ("/api/v1/search?q=orders", "/api/v1/lineage", "/api/v1/access", "/api/v1/nothing-here"):
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert answer.json()["reason"] == MISSING
        assert "Authorization: Bearer <key>" in answer.json()["message"]
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_the_api_refuses_a_wrong_key(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="queries.access"):
        answer = client.get("/api/v1/access", headers={"Authorization": "Bearer not-a-key"})
    assert answer.status_code == 401
    assert answer.json()["reason"] == INVALID and "refused" in answer.json()["message"]
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert "reason=invalid-api-key" in caplog.text
    assert "not-a-key" not in caplog.text  # keys are never logged


def test_the_right_key_reads(client: TestClient) -> None:
    for key in ("key-one", "key-two"):
        answer = client.get("/api/v1/access", headers={"Authorization": f"Bearer {key}"})
        assert (answer.status_code, answer.json()) == (200, {"readKeys": True})
    past = client.get("/api/v1/nothing-here", headers={"Authorization": "Bearer key-one"})
    assert past.status_code == 404  # past the key check, the routes answer as without keys


def test_health_and_the_explorer_files_need_no_key(client: TestClient) -> None:
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    assert client.get("/").text.startswith("<!doctype html>")
    assert client.get("/?kind=dataset&namespace=x&name=y").status_code == 200
    assert client.get("/assets/app-1.js").text == "console.log(1)"


def test_without_keys_the_api_is_open(tmp_path: Path) -> None:
    driver: Any = FakeDriver()
    open_api = TestClient(create_api(driver, ui_dir=tmp_path))
    assert open_api.get("/api/v1/access").json() == {"readKeys": False}


def test_read_keys_are_a_setting_of_their_own_and_masked() -> None:
    settings = Settings.from_env({"LINEAGE_READ_API_KEYS": " r1, r2 ,,", "LINEAGE_INGEST_API_KEYS": "i1"})
    assert settings.read_keys == {"r1", "r2"}
    assert settings.api_keys == {"i1"}
    described = settings.describe()
    assert described["read_api_keys"] == "***" and described["ingest_api_keys"] == "***"
    assert "r1" not in repr(settings) and "r1" not in str(described)
    assert Settings().read_keys == frozenset() and Settings().describe()["read_api_keys"] == ""


def test_every_setting_and_stack_flag_the_access_guide_names_exists() -> None:
    import re

    from lineage_cli.main import _parser

    guide = (Path(__file__).parents[3] / "docs" / "access.md").read_text()
    named = set(re.findall(r"\bLINEAGE_[A-Z0-9_]+\b", guide))
    assert {"LINEAGE_READ_API_KEYS", "LINEAGE_INGEST_API_KEYS"} <= named
    assert sorted(n for n in named if n.removeprefix("LINEAGE_").lower() not in Settings.model_fields) == []
    up = _parser().parse_args(["stack", "up", "--neo4j-http-port", "7474"])
    assert up.neo4j_http_port == 7474
    flags = set(re.findall(r"--neo4j-[a-z-]+", guide))
    assert flags == {"--neo4j-http-port"}
