"""Neo4j's HTTP connector and Neo4j Browser on the local stack, without starting any server."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage_cli.main import _browser_text
from lineage_stack import neo4j_server, stack
from lineage_stack.errors import StackError
from lineage_stack.processes import free_port


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_the_http_connector_listens_on_loopback_when_given_a_port(tmp_path: Path) -> None:
    conf = (neo4j_server.write_config(tmp_path / "neo4j", 17687, 17474) / "neo4j.conf").read_text().splitlines()
    assert "server.http.enabled=true" in conf
    assert "server.http.listen_address=127.0.0.1:17474" in conf
    assert "server.http.advertised_address=127.0.0.1:17474" in conf
    assert "server.https.enabled=false" in conf and "dbms.security.auth_enabled=false" in conf
    assert "client.allow_telemetry=false" in conf
    off = (neo4j_server.write_config(tmp_path / "off", 17687) / "neo4j.conf").read_text().splitlines()
    assert "server.http.enabled=false" in off and not any(line.startswith("server.http.listen") for line in off)


def test_the_browser_jar_joins_the_server_classpath(tmp_path: Path) -> None:
    lib, browser = tmp_path / "neo4j" / "lib", tmp_path / "neo4j-browser" / "lib"
    command = neo4j_server.server_command("java", lib, tmp_path / "home", [browser])
    assert command[command.index("-cp") + 1] == f"{lib}/*:{browser}/*"
    bare = neo4j_server.server_command("java", lib, tmp_path / "home")
    assert bare[bare.index("-cp") + 1] == f"{lib}/*"


def test_the_http_port_is_checked_with_the_others() -> None:
    assert neo4j_server.ports(7687, {"http": 7474}) == {"Neo4j Bolt": 7687, "Neo4j HTTP": 7474}
    assert neo4j_server.ports(7687, {}) == {"Neo4j Bolt": 7687}


def test_a_taken_http_port_is_named_with_its_flag(taken_port: int, tmp_path: Path) -> None:
    data = tmp_path / "stack"
    data.mkdir()
    # A state file from before the HTTP port existed: the port asked for is added to it.
    stack.state_path(data).write_text(
        '{"kafka": {"pid": null, "port": 1, "extra_ports": {"controller": 2}},'
        ' "neo4j": {"pid": null, "port": 3, "extra_ports": {}}}'
    )
    config = stack.StackConfig(data_dir=data, cache_dir=tmp_path / "cache", neo4j_http_port=taken_port)
    with pytest.raises(StackError, match=f"Neo4j HTTP port {taken_port}.*--neo4j-http-port"):
        stack.up(config, log=lambda _m: None)


def _state(data: Path, neo4j: dict[str, object]) -> None:
    data.mkdir(parents=True, exist_ok=True)
    kafka = {"pid": None, "port": 1, "extra_ports": {"controller": 2}}
    stack.state_path(data).write_text(json.dumps({"kafka": kafka, "neo4j": neo4j}))


def test_status_gives_the_browser_address_that_connects_without_a_password(tmp_path: Path) -> None:
    _state(tmp_path, {"pid": None, "port": 17687, "extra_ports": {"http": 17474}, "optional": {"browser": "served"}})
    info = stack.status(tmp_path)
    assert info["neo4j_http_url"] == "http://127.0.0.1:17474"
    assert info["neo4j_browser_url"] == (
        "http://127.0.0.1:17474/browser/?dbms=bolt://127.0.0.1:17687&preselectAuthMethod=NO_AUTH"
    )
    assert info["neo4j_browser"] == "Neo4j is not running"  # nothing runs in this test
    assert _browser_text(info) == "not served: Neo4j is not running"
    running = {**info, "neo4j_running": True, "neo4j_browser": "served"}
    assert _browser_text(running).startswith(f"{info['neo4j_browser_url']} (connects to bolt://127.0.0.1:17687")


def test_status_says_why_the_browser_is_missing(tmp_path: Path) -> None:
    reason = "Maven could not fetch neo4j-browser 5.24.0 (exit 1). Check that Maven Central is reachable."
    _state(tmp_path, {"pid": None, "port": 17687, "extra_ports": {"http": 17474}, "optional": {"browser": reason}})
    info = stack.status(tmp_path)
    assert info["neo4j_browser_url"] is None and info["neo4j_http_url"] == "http://127.0.0.1:17474"
    assert _browser_text({**info, "neo4j_running": True, "neo4j_browser": reason}) == f"not served: {reason}"


def test_status_of_a_neo4j_started_by_an_older_stack_says_to_restart_it(tmp_path: Path) -> None:
    _state(tmp_path, {"pid": None, "port": 17687, "extra_ports": {}})
    info = stack.status(tmp_path)
    assert info["neo4j_http_url"] is None and info["neo4j_browser_url"] is None
    assert "lineage stack down" in info["neo4j_browser"]
    assert stack.status(tmp_path / "never")["neo4j_browser_url"] is None


def test_without_maven_the_browser_is_left_out_and_the_reason_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn
    said: list[str] = []
    lib, outcome = stack.fetch_browser(tmp_path / "cache", said.append)
    assert lib is None and "`mvn` is not on PATH" in outcome and "\n" not in outcome
    assert any("Neo4j starts without it" in line for line in said)


def test_a_cached_browser_is_used_without_maven(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    target = tmp_path / f"neo4j-browser-{neo4j_server.BROWSER_VERSION}"
    (target / "lib").mkdir(parents=True)
    (target / ".complete").write_text("ok\n")
    assert stack.fetch_browser(tmp_path, print) == (target / "lib", stack.BROWSER_SERVED)


def test_the_probe_waits_for_the_http_connector_too() -> None:
    assert neo4j_server.probe(free_port(), http_port=free_port()) is False


def test_a_default_http_port_another_program_has_leaves_the_browser_out(taken_port: int) -> None:
    neo4j = stack.ServiceState(port=17687, extra_ports={"http": taken_port})
    reason = stack._http_port_taken(neo4j, asked=None)
    assert reason is not None and f"port {taken_port}" in reason and "--neo4j-http-port" in reason
    assert "http" not in neo4j.extra_ports  # Neo4j starts without the connector; the next `up` tries again
    asked = stack.ServiceState(port=17687, extra_ports={"http": taken_port})
    assert stack._http_port_taken(asked, asked=taken_port) is None  # checked (and refused) like the others
    free = stack.ServiceState(port=17687, extra_ports={"http": free_port()})
    assert stack._http_port_taken(free, asked=None) is None and "http" in free.extra_ports


def test_status_of_a_neo4j_started_without_http_gives_the_reason(tmp_path: Path) -> None:
    reason = "port 7474 (Neo4j HTTP) is in use by another program; choose a free one with --neo4j-http-port"
    _state(tmp_path, {"pid": None, "port": 17687, "extra_ports": {}, "optional": {"browser": reason}})
    info = stack.status(tmp_path)
    assert info["neo4j_http_url"] is None and info["neo4j_browser_url"] is None
    assert _browser_text({**info, "neo4j_running": True, "neo4j_browser": reason}) == f"not served: {reason}"
