"""Neo4j Community 5.26 as a plain JVM process, Bolt on 127.0.0.1, HTTP off.

Started the way the distribution's bin script would start it: the ``CommunityEntryPoint`` class
with ``--home-dir``, ``--config-dir`` and ``--console-mode``, plus the JVM flags the script adds.
Authentication is off: the server listens on loopback only and is meant for one developer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lineage_stack.errors import StackError
from lineage_stack.processes import log_tail, port_in_use, wait_until

NEO4J_VERSION = "5.26.30"
POM = "neo4j.pom.xml"
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"


def pom_versions() -> dict[str, str]:
    return {"NEO4J_VERSION": NEO4J_VERSION}


def write_config(home: Path, bolt_port: int) -> Path:
    conf_dir = home / "conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("data", "logs", "run", "plugins", "import"):
        (home / sub).mkdir(exist_ok=True)
    # Strict validation is on in Neo4j 5: every key here must be one the server knows.
    (conf_dir / "neo4j.conf").write_text(
        "\n".join(
            [
                f"server.directories.data={home / 'data'}",
                f"server.directories.logs={home / 'logs'}",
                f"server.directories.run={home / 'run'}",
                f"server.directories.plugins={home / 'plugins'}",
                f"server.directories.import={home / 'import'}",
                "server.default_listen_address=127.0.0.1",
                "server.bolt.enabled=true",
                f"server.bolt.listen_address=127.0.0.1:{bolt_port}",
                f"server.bolt.advertised_address=127.0.0.1:{bolt_port}",
                "server.http.enabled=false",
                "server.https.enabled=false",
                "dbms.security.auth_enabled=false",
                "dbms.usage_report.enabled=false",
                "server.memory.pagecache.size=256m",
                "db.transaction.timeout=5m",
                "",
            ]
        )
    )
    return conf_dir


def server_command(java: str, lib: Path, home: Path) -> list[str]:
    return [
        java,
        "-Xms512m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-XX:-OmitStackTraceInFastThrow",
        "-XX:+DisableExplicitGC",
        "-Djdk.nio.maxCachedBufferSize=1024",
        "-Dio.netty.tryReflectionSetAccessible=true",
        "-Dlog4j2.disable.jmx=true",
        "--add-opens=java.base/java.nio=ALL-UNNAMED",
        "--add-opens=java.base/java.io=ALL-UNNAMED",
        "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
        "--enable-native-access=ALL-UNNAMED",
        "-cp",
        f"{lib}/*",
        ENTRY_POINT,
        f"--home-dir={home}",
        f"--config-dir={home / 'conf'}",
        "--console-mode",
    ]


def wait_ready(
    bolt_port: int, alive: Callable[[], bool], log: Path, timeout: float = 120.0
) -> None:
    """Wait until the Python driver verifies connectivity, or fail with the server log's tail."""
    import neo4j

    uri = f"bolt://127.0.0.1:{bolt_port}"

    def ready() -> bool:
        if not alive():
            raise StackError(f"Neo4j exited during start-up. Last lines of {log}:\n{log_tail(log)}")
        if not port_in_use(bolt_port):
            return False
        try:
            with neo4j.GraphDatabase.driver(uri) as driver:
                driver.verify_connectivity()
        except Exception:  # noqa: BLE001 - any failure here only means "not ready yet"
            return False
        return True

    if not wait_until(ready, timeout, interval=0.5):
        raise StackError(
            f"Neo4j did not accept Bolt connections on {uri} within {timeout:.0f}s. "
            f"Last lines of {log}:\n{log_tail(log)}"
        )
