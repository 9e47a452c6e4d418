"""Fetching server jars from Maven Central into the stack's cache folder.

Each server has a small pom (``poms/``) whose dependencies are the server and its logging
binding. ``mvn dependency:copy-dependencies`` resolves them, with a Maven repository inside the
cache folder, into ``<cache>/<name>-<version>/lib``. A ``.complete`` marker makes later runs
reuse the folder without calling Maven at all.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from lineage_stack.errors import StackError
from lineage_stack.tools import find_maven


def fetch_jars(
    pom_name: str, versions: dict[str, str], cache_dir: Path, label: str, log: Callable[[str], None]
) -> Path:
    """The lib folder holding the jars of ``pom_name`` at ``versions``, fetching it if needed."""
    tag = "-".join(versions[k] for k in sorted(versions))
    target = cache_dir / f"{label}-{tag}"
    lib = target / "lib"
    if (target / ".complete").exists():
        return lib
    mvn = find_maven()
    log(f"fetching {label} {tag} from Maven Central into {target} (first run only)...")
    pom = resources.files("lineage_stack").joinpath("poms", pom_name).read_text()
    for name, value in versions.items():
        pom = pom.replace(f"@{name}@", value)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    (target / "pom.xml").write_text(pom)
    cmd = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(target / "pom.xml"),
        f"-Dmaven.repo.local={cache_dir / 'm2'}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={lib}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not any(lib.glob("*.jar")):
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise StackError(
            f"Maven could not fetch {label} {tag} (exit {result.returncode}). Check that Maven "
            f"Central is reachable and ~/.m2/settings.xml has no blocking mirror.\n{tail}"
        )
    (target / ".complete").write_text("ok\n")
    return lib
