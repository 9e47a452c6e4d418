"""Neo4j Community 5.26 as a plain JVM process, Bolt on 127.0.0.1, HTTP off.

Started the way the distribution's bin script would start it: the ``CommunityEntryPoint`` class
with ``--home-dir``, ``--config-dir`` and ``--console-mode``, plus the JVM flags the script adds.
Authentication is off: the server listens on loopback only and is meant for one developer.
"""

from __future__ import annotations

from pathlib import Path

from lineage_stack.processes import port_in_use

NAME = "neo4j"
LABEL = "Neo4j"
READY_TIMEOUT = 120.0
NEO4J_VERSION = "5.26.30"
VERSION = NEO4J_VERSION
POM = "neo4j.pom.xml"
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"


def pom_versions() -> dict[str, str]:
    return {"NEO4J_VERSION": NEO4J_VERSION}


def marker(home: Path) -> str:
    """The exact command-line argument that identifies this folder's Neo4j process."""
    return f"--home-dir={home}"


def ports(port: int, extra: dict[str, int]) -> dict[str, int]:
    return {"Neo4j Bolt": port}


def prepare(java: str, lib: Path, home: Path, port: int, extra: dict[str, int]) -> list[str]:
    """Write the config and return the server's command line."""
    write_config(home, port)
    return server_command(java, lib, home)


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


def probe(port: int) -> bool:
    """One readiness check: the Python driver verifies connectivity."""
    import neo4j

    if not port_in_use(port):
        return False
    try:
        with neo4j.GraphDatabase.driver(f"bolt://127.0.0.1:{port}") as driver:
            driver.verify_connectivity()
    except Exception:  # noqa: BLE001 - any failure here only means "not ready yet"
        return False
    return True
