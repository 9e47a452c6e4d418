"""Finding Java and Maven, with errors that say how to get them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from lineage_stack.errors import StackError

MIN_JAVA = 17


def find_java(environ: dict[str, str] | None = None) -> str:
    """Path of a ``java`` of version 17 or later: $JAVA_HOME/bin/java, else ``java`` on PATH."""
    env = os.environ if environ is None else environ
    candidates = []
    if env.get("JAVA_HOME"):
        candidates.append(str(Path(env["JAVA_HOME"]) / "bin" / "java"))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
    for java in candidates:
        version = java_version(java)
        if version is not None and version >= MIN_JAVA:
            return java
    found = ", ".join(f"{j} ({java_version(j)})" for j in candidates) or "none"
    raise StackError(
        f"lineage stack needs Java {MIN_JAVA} or later to run Kafka and Neo4j; found: {found}. "
        "Install a JDK (e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME."
    )


def java_version(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_maven() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "lineage stack fetches Kafka and Neo4j from Maven Central with Maven, but `mvn` is "
            "not on PATH. Install it (e.g. `apt-get install maven`) and try again."
        )
    return mvn
