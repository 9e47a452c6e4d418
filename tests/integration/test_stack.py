"""``lineage stack``: up, status, reuse, down, and up again from the jar cache, on real servers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import neo4j
from confluent_kafka.admin import AdminClient, NewTopic

from lineage_stack import kafka_server, neo4j_server
from lineage_stack.processes import free_port, is_running
from tests.integration.services import lineage_command


def lineage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(lineage_command(*args), capture_output=True, text=True, timeout=600, check=False)


def test_up_status_down_twice(tmp_path: Path) -> None:
    data = tmp_path / "stack"
    ports = [
        "--kafka-port",
        str(free_port()),
        "--kafka-controller-port",
        str(free_port()),
        "--neo4j-port",
        str(free_port()),
        "--neo4j-http-port",
        str(free_port()),
    ]
    try:
        first = lineage("stack", "up", "--data-dir", str(data), *ports, "--json")
        assert first.returncode == 0, first.stderr
        info = json.loads(first.stdout)
        assert info["running"] and info["kafka_bootstrap"].startswith("127.0.0.1:")
        assert info["neo4j_uri"].startswith("bolt://127.0.0.1:")

        status = lineage("stack", "status", "--data-dir", str(data), "--json")
        assert status.returncode == 0
        assert json.loads(status.stdout) == info
        _assert_browser_served(info)
        text = lineage("stack", "status", "--data-dir", str(data))
        assert f"Neo4j Browser: {info['neo4j_browser_url']}" in text.stdout

        again = lineage("stack", "up", "--data-dir", str(data), "--json")
        assert again.returncode == 0 and "reusing" in again.stderr
        assert json.loads(again.stdout)["kafka_pid"] == info["kafka_pid"]

        admin = AdminClient({"bootstrap.servers": info["kafka_bootstrap"]})
        admin.create_topics([NewTopic("kept-across-restarts", 1, 1)])["kept-across-restarts"].result(30)
        with neo4j.GraphDatabase.driver(info["neo4j_uri"]) as driver:
            driver.execute_query("CREATE (:Marker {name: 'kept'})")

        down = lineage("stack", "down", "--data-dir", str(data))
        assert down.returncode == 0, down.stderr
        assert not is_running(info["kafka_pid"], kafka_server.marker(data.resolve() / "kafka"))
        assert not is_running(info["neo4j_pid"], neo4j_server.marker(data.resolve() / "neo4j"))
        stopped = lineage("stack", "status", "--data-dir", str(data), "--json")
        assert stopped.returncode == 1 and json.loads(stopped.stdout)["running"] is False

        second = lineage("stack", "up", "--data-dir", str(data), "--json")
        assert second.returncode == 0, second.stderr
        assert "fetching" not in second.stderr  # the jars came from the cache
        info2 = json.loads(second.stdout)
        assert info2["kafka_bootstrap"] == info["kafka_bootstrap"]
        assert info2["neo4j_browser_url"] == info["neo4j_browser_url"]  # the HTTP port is kept too
        _assert_browser_served(info2)
        admin = AdminClient({"bootstrap.servers": info2["kafka_bootstrap"]})
        assert "kept-across-restarts" in admin.list_topics(timeout=30).topics
        with neo4j.GraphDatabase.driver(info2["neo4j_uri"]) as driver:
            records, _, _ = driver.execute_query("MATCH (m:Marker) RETURN m.name AS name")
            assert [r["name"] for r in records] == ["kept"]
    finally:
        final = lineage("stack", "down", "--data-dir", str(data))
    assert final.returncode == 0
    assert json.loads(lineage("stack", "status", "--data-dir", str(data), "--json").stdout)["running"] is False


def _assert_browser_served(info: dict[str, object]) -> None:
    """Neo4j's HTTP connector answers with its discovery document, and serves Neo4j Browser."""
    assert info["neo4j_browser"] == "served", info["neo4j_browser"]
    http, browser = str(info["neo4j_http_url"]), str(info["neo4j_browser_url"])
    assert http.startswith("http://127.0.0.1:")
    bolt_port = str(info["neo4j_uri"]).rsplit(":", 1)[1]
    assert browser.startswith(f"{http}/browser/?dbms=bolt://127.0.0.1:{bolt_port}")
    discovery = httpx.get(f"{http}/", headers={"Accept": "application/json"}, timeout=10)
    assert discovery.status_code == 200
    assert discovery.json()["bolt_direct"] == info["neo4j_uri"]
    assert discovery.json()["neo4j_edition"] == "community"
    page = httpx.get(browser, timeout=10)
    assert page.status_code == 200 and "<title>Neo4j Browser</title>" in page.text
