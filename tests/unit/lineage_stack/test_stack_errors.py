"""The stack's checks and files, without starting any server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage_stack import kafka_server, neo4j_server, stack
from lineage_stack.errors import StackError
from lineage_stack.maven import fetch_jars
from lineage_stack.processes import (
    check_ports_free,
    free_port,
    is_running,
    log_tail,
    spawn,
    wait_ready,
    wait_until,
)
from lineage_stack.tools import find_java, find_maven


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_taken_port_is_named_with_what_to_do(taken_port: int) -> None:
    with pytest.raises(StackError) as err:
        check_ports_free({"Kafka": taken_port})
    assert f"Kafka port {taken_port}" in str(err.value)
    assert "--kafka-port" in str(err.value)


def test_cli_reports_a_taken_port_without_a_traceback(taken_port: int, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lineage_cli",
            "stack",
            "up",
            "--data-dir",
            str(tmp_path / "s"),
            "--kafka-port",
            str(taken_port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("lineage: error: cannot start the stack")
    assert "Traceback" not in result.stderr


def test_missing_java_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackError, match=r"needs Java 17 or later.*JAVA_HOME"):
        find_java({"JAVA_HOME": str(tmp_path / "nojdk")})


def test_missing_maven_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackError, match="`mvn` is not on PATH"):
        find_maven()


def test_cached_jars_are_reused_without_maven(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn: any call to Maven would fail
    target = tmp_path / "kafka-4.1.2-2.25.3"
    (target / "lib").mkdir(parents=True)
    (target / ".complete").write_text("ok\n")
    lib = fetch_jars(kafka_server.POM, kafka_server.pom_versions(), tmp_path, "kafka", log=print)
    assert lib == target / "lib"


def test_recycled_pid_is_not_taken_for_ours(tmp_path: Path) -> None:
    # This test process is alive, but its command line does not name the stack's data folder.
    assert not is_running(os.getpid(), str(tmp_path / "stack"))
    assert not is_running(None, "x")


def test_another_stack_whose_folder_shares_a_prefix_is_not_ours(tmp_path: Path) -> None:
    theirs = str(tmp_path / "stack2" / "kafka" / "server.properties")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", theirs])
    try:
        assert wait_until(lambda: is_running(proc.pid, theirs), 10)  # once exec'd
        assert not is_running(proc.pid, str(tmp_path / "stack" / "kafka" / "server.properties"))
        assert not is_running(proc.pid, str(tmp_path / "stack"))
    finally:
        proc.kill()
        proc.wait()


def test_ports_asked_for_win_over_the_ones_recorded(taken_port: int, tmp_path: Path) -> None:
    data = tmp_path / "stack"
    data.mkdir()
    stack.state_path(data).write_text(
        '{"kafka": {"pid": null, "port": 1, "extra_ports": {"controller": 2}},'
        ' "neo4j": {"pid": null, "port": 3, "extra_ports": {}}}'
    )
    config = stack.StackConfig(data_dir=data, cache_dir=tmp_path / "cache", kafka_port=taken_port)
    with pytest.raises(StackError, match=f"Kafka port {taken_port}"):
        stack.up(config, log=lambda _m: None)


def test_a_failed_fetch_starts_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").symlink_to(find_java())  # Java is there, Maven is not
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    free = [free_port() for _ in range(3)]
    config = stack.StackConfig(tmp_path / "stack", tmp_path / "cache", free[0], free[1], free[2])
    with pytest.raises(StackError, match="`mvn` is not on PATH"):
        stack.up(config, log=lambda _m: None)
    assert stack.status(tmp_path / "stack")["kafka_running"] is False
    state = stack.read_state(tmp_path / "stack")
    assert state is None or (state.kafka.pid is None and state.neo4j.pid is None)


def test_server_configs_bind_loopback_only(tmp_path: Path) -> None:
    props = kafka_server.write_config(tmp_path / "kafka", 19092, 19093).read_text()
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093" in props
    assert "controller.quorum.voters=1@127.0.0.1:19093" in props
    conf = (neo4j_server.write_config(tmp_path / "neo4j", 17687) / "neo4j.conf").read_text()
    assert "server.bolt.listen_address=127.0.0.1:17687" in conf
    assert "server.default_listen_address=127.0.0.1" in conf
    assert "server.http.enabled=false" in conf


def test_status_of_an_empty_folder_is_stopped(tmp_path: Path) -> None:
    info = stack.status(tmp_path)
    assert info["running"] is False and info["kafka_bootstrap"] is None


def test_corrupt_state_file_is_reported(tmp_path: Path) -> None:
    stack.state_path(tmp_path).write_text("{not json")
    with pytest.raises(StackError, match="not a stack state file"):
        stack.status(tmp_path)


def test_log_tail_keeps_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("\n".join(f"line {i}" for i in range(100)))
    assert log_tail(log, 3) == "line 97\nline 98\nline 99"
    assert log_tail(tmp_path / "missing.log") == "(no log written)"
    (tmp_path / "empty.log").write_text("")
    assert "the log is empty" in log_tail(tmp_path / "empty.log")


def test_a_server_that_dies_during_start_up_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "neo4j.log"
    log.write_text("Starting...\nERROR Invalid configuration: no such setting 'x.y'\n")
    with pytest.raises(StackError) as err:
        wait_ready("Neo4j", "127.0.0.1:1", lambda: False, lambda: 1, log, timeout=5)
    assert str(err.value).startswith("Neo4j exited during start-up (exit code 1)")
    assert "no such setting 'x.y'" in str(err.value)


def test_a_server_killed_during_start_up_says_by_which_signal(tmp_path: Path) -> None:
    log = tmp_path / "neo4j.log"
    log.write_text("")
    with pytest.raises(StackError) as err:
        wait_ready("Neo4j", "127.0.0.1:1", lambda: False, lambda: -9, log, timeout=5)
    assert "killed by SIGKILL" in str(err.value)
    assert "out-of-memory" in str(err.value)
    assert "the log is empty" in str(err.value)


def test_the_start_up_wait_follows_the_real_child_process(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    child = spawn([sys.executable, "-c", "import sys; print('bad config'); sys.exit(3)"], log, tmp_path)
    with pytest.raises(StackError) as err:
        wait_ready("Kafka", "127.0.0.1:9", lambda: False, child.poll, log, timeout=10)
    assert "(exit code 3)" in str(err.value)
    assert "bad config" in str(err.value)


def test_a_server_that_never_answers_times_out_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "kafka.log"
    log.write_text("still formatting\n")
    with pytest.raises(StackError, match=r"Kafka did not accept clients on 127\.0\.0\.1:9 within 1s"):
        wait_ready("Kafka", "127.0.0.1:9", lambda: False, lambda: None, log, timeout=1)


def test_cluster_ids_never_look_like_options() -> None:
    ids = {kafka_server.new_cluster_id() for _ in range(2000)}  # ~1 in 64 would start with "-"
    assert len(ids) == 2000
    assert not any(i.startswith("-") for i in ids)
    assert all(len(i) == 22 for i in ids)
