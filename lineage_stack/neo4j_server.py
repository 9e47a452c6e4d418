"""Neo4j Community 5.26 as a plain JVM process, Bolt and HTTP on 127.0.0.1.

Started the way the distribution's bin script would start it: the ``CommunityEntryPoint`` class
with ``--home-dir``, ``--config-dir`` and ``--console-mode``, plus the JVM flags the script adds.
Authentication is off: the server listens on loopback only and is meant for one developer.

Neo4j Browser is not in the server's Maven artifacts; the distribution adds it as one more jar,
``org.neo4j.client:neo4j-browser``, whose ``browser/`` files the HTTP connector serves at
``/browser/`` when the jar is on the classpath. The stack fetches it separately (``BROWSER_POM``)
and starts Neo4j without it when it cannot be had.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lineage_stack.processes import port_in_use

NAME = "neo4j"
LABEL = "Neo4j"
READY_TIMEOUT = 120.0
NEO4J_VERSION = "5.26.30"
VERSION = NEO4J_VERSION
POM = "neo4j.pom.xml"
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
# The newest Neo4j Browser on Maven Central (later ones ship only inside the distribution).
BROWSER_VERSION = "5.24.0"
BROWSER_POM = "neo4j-browser.pom.xml"
DEFAULT_HTTP_PORT = 7474


def pom_versions() -> dict[str, str]:
    return {"NEO4J_VERSION": NEO4J_VERSION}


def marker(home: Path) -> str:
    """The exact command-line argument that identifies this folder's Neo4j process."""
    return f"--home-dir={home}"


def browser_versions() -> dict[str, str]:
    return {"BROWSER_VERSION": BROWSER_VERSION}


def ports(port: int, extra: dict[str, int]) -> dict[str, int]:
    found = {"Neo4j Bolt": port}
    if extra.get("http"):
        found["Neo4j HTTP"] = extra["http"]
    return found


def prepare(
    java: str, lib: Path, home: Path, port: int, extra: dict[str, int], extra_libs: Sequence[Path] = ()
) -> list[str]:
    """Write the config and return the server's command line (``extra_libs``: the Browser's)."""
    write_config(home, port, extra.get("http"))
    return server_command(java, lib, home, extra_libs)


def write_config(home: Path, bolt_port: int, http_port: int | None = None) -> Path:
    """``neo4j.conf``: Bolt on ``bolt_port``; the HTTP connector on ``http_port``, off if None."""
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
                *_http_lines(http_port),
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


def _http_lines(http_port: int | None) -> list[str]:
    if not http_port:
        return ["server.http.enabled=false"]
    return [
        "server.http.enabled=true",
        f"server.http.listen_address=127.0.0.1:{http_port}",
        f"server.http.advertised_address=127.0.0.1:{http_port}",
        "client.allow_telemetry=false",  # Neo4j Browser sends no usage data out
    ]


def server_command(java: str, lib: Path, home: Path, extra_libs: Sequence[Path] = ()) -> list[str]:
    classpath = ":".join(f"{folder}/*" for folder in (lib, *extra_libs))
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
        classpath,
        ENTRY_POINT,
        f"--home-dir={home}",
        f"--config-dir={home / 'conf'}",
        "--console-mode",
    ]


def probe(port: int, http_port: int | None = None) -> bool:
    """One readiness check: the Python driver verifies connectivity (and the HTTP connector,
    which starts a moment after Bolt, listens)."""
    import neo4j

    if not port_in_use(port) or (http_port and not port_in_use(http_port)):
        return False
    try:
        with neo4j.GraphDatabase.driver(f"bolt://127.0.0.1:{port}") as driver:
            driver.verify_connectivity()
    except Exception:  # noqa: BLE001 - any failure here only means "not ready yet"
        return False
    return True
