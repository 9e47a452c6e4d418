"""The peer: Data.Rentgen's Kafka consumer on the same workload, on the same machine.

Data.Rentgen (PyPI ``data-rentgen``, a Python OpenLineage backend: a FastStream/aiokafka consumer
writing PostgreSQL) is the closest peer of this product. This script:

1. installs ``data-rentgen[consumer,postgres,server]==PEER_VERSION`` into a venv of its own under
   ``LINEAGE_HOME/bench-peer`` (it needs Python 3.12 or later: ``python3.12``/``python3.13`` on
   PATH or in pyenv; it says so when there is none). Its consumer imports FastAPI, hence ``server``;
2. runs a private PostgreSQL (Debian's ``postgresql`` package, version 15; as the ``postgres`` user
   when run as root, since PostgreSQL refuses root) in a temporary folder on a free port, with the
   server's defaults (fsync on);
3. creates Data.Rentgen's schema and its monthly partitions for the workload's months;
4. publishes the workload (UUIDv7 run ids, which Data.Rentgen requires) to a topic of its own and
   starts the consumer on it with a fresh group reading from the earliest offset;
5. times it from its first batch ("Got N messages" in its log) to the save ("Saved successfully")
   of the batch that completed the workload. Its offsets cannot time it: it commits them when it
   fetches, before it writes (a crash loses the batch). Its settings are its defaults: with the
   workload already on the topic, a batch is as large as a fetch allows.

It also reports the CPU seconds its consumer and PostgreSQL spent in that window. Nothing of it
is committed to the repository; it is installed when the benchmark runs.
Run: .venv/bin/python -m bench.peer EVENTS [--json FILE]   (needs Kafka: bench/run starts one)
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import PARTITIONS, arguments, report
from bench.workload import Topology, events
from lineage_cli.environment import component_settings
from lineage_stack.processes import free_port
from producers.publisher import EventPublisher
from producers.topics import ensure_topics

PEER = "data-rentgen"
PEER_VERSION = "0.7.2"
PACKAGE = f"data-rentgen[consumer,postgres,server]=={PEER_VERSION}"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOG_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3})")


class PeerUnavailable(RuntimeError):
    """What the peer needs is not on this machine; the message says what and how to get it."""


def run(
    count: int,
    datasets: int = 4000,
    jobs: int = 1500,
    seed: int = 1,
    timeout: float = 1800,
    max_records: int | None = None,
) -> dict[str, Any]:
    settings = component_settings()
    workload = list(events(Topology(datasets, jobs, seed), count, seed))
    runs = {e["run"]["runId"] for e in workload}
    python = _venv(settings.home / "bench-peer")
    with PrivatePostgres() as database:
        env = {
            **os.environ,
            "DATA_RENTGEN__DATABASE__URL": database,
            "DATA_RENTGEN_CONFIG_FILE": "/nonexistent/config.yml",  # only these variables count
        }
        _setup_database(python, env, workload)
        tag = f"bench-peer-{uuid.uuid4().hex[:8]}"
        topic = f"{tag}.input.runs"
        ensure_topics(settings.kafka_bootstrap, [topic, f"{topic}__malformed"], PARTITIONS)
        with EventPublisher(settings.kafka_bootstrap, topic) as publisher:
            publisher.publish(workload)
        env |= {
            "DATA_RENTGEN__KAFKA__BOOTSTRAP_SERVERS": json.dumps(settings.kafka_bootstrap.split(",")),
            "DATA_RENTGEN__CONSUMER__TOPICS_LIST": json.dumps([topic]),
            "DATA_RENTGEN__CONSUMER__GROUP_ID": f"{tag}-consumer",
            "DATA_RENTGEN__CONSUMER__AUTO_OFFSET_RESET": "earliest",
            "DATA_RENTGEN__PRODUCER__MALFORMED_TOPIC": f"{topic}__malformed",
            "DATA_RENTGEN__MONITORING__ENABLED": "false",
        }
        if max_records:
            env["DATA_RENTGEN__CONSUMER__MAX_RECORDS"] = str(max_records)
        log = Path(tempfile.mkdtemp(prefix="bench-peer-")) / "consumer.log"
        print(f"{len(workload):,} events ({len(runs):,} runs) on {topic}; starting {PEER} {PEER_VERSION}", flush=True)
        with log.open("wb") as out:
            consumer = subprocess.Popen(
                [python, "-m", "data_rentgen.consumer", "--port", str(free_port())],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            saved, cpu_consumer, cpu_db = _wait(consumer, database, len(workload), log, timeout)
        finally:
            consumer.terminate()
            try:
                consumer.wait(30)
            except subprocess.TimeoutExpired:
                consumer.kill()
    first, last, batches = _times(log)
    seconds = (last - first) if first and last else float("nan")
    result = {
        "peer": f"{PEER} {PEER_VERSION}",
        "events": len(workload),
        "runs": len(runs),
        "events_saved": saved,
        "batches": batches,
        "seconds": round(seconds, 1),
        "events_per_s": round(len(workload) / seconds, 1),
        "cpu_seconds": {"consumer": round(cpu_consumer, 1), "postgres": round(cpu_db, 1)},
        "cores_used": round((cpu_consumer + cpu_db) / seconds, 2),
    }
    print(
        f"{PEER} {PEER_VERSION}: {len(workload):,} events in {seconds:.1f} s = {result['events_per_s']:,.0f} events/s "
        f"({batches} batches; CPU: consumer {cpu_consumer:.0f} s, PostgreSQL {cpu_db:.0f} s = "
        f"{result['cores_used']:.2f} cores)",
        flush=True,
    )
    return result


# --- the peer's Python -----------------------------------------------------------------------


def _python312() -> str:
    candidates = [shutil.which(f"python3.{minor}") for minor in (12, 13)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(glob.glob(str(pyenv / "3.1[23]*" / "bin" / "python3")))
    for candidate in filter(None, candidates):
        version = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info >= (3, 12))"], capture_output=True, text=True
        )
        if version.stdout.strip() == "True":
            return candidate
    raise PeerUnavailable(
        f"{PEER} needs Python 3.12 or later and none was found (python3.12 or python3.13 on PATH, or in "
        f"{pyenv}); install one (pyenv install 3.12) to measure the peer"
    )


def _venv(folder: Path) -> str:
    python = folder / "venv" / "bin" / "python"
    check = [str(python), "-c", f"import importlib.metadata as m; assert m.version('{PEER}') == '{PEER_VERSION}'"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python)
    print(f"installing {PACKAGE} into {folder / 'venv'} (first run only)...", flush=True)
    subprocess.run([_python312(), "-m", "venv", str(folder / "venv")], check=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", PACKAGE], capture_output=True, text=True)
    if done.returncode != 0:
        raise PeerUnavailable(f"pip could not install {PACKAGE}:\n{done.stderr[-2000:]}")
    return str(python)


# --- its database ----------------------------------------------------------------------------


class PrivatePostgres:
    """A private PostgreSQL in a temporary folder, stopped and removed on exit; yields its URL."""

    def __enter__(self) -> str:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise PeerUnavailable("PostgreSQL's server is not installed: apt-get install postgresql (Debian)")
        self.bin = Path(found[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="bench-peer-pg-"))
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres")
        self.port = free_port()
        data = self.folder / "data"
        self._run("initdb", "-D", str(data), "-U", "rentgen", "-A", "trust", "-E", "UTF8")
        self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(self.folder / "postgres.log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1",
            "start",
        )
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "rentgen", "rentgen")
        return f"postgresql+asyncpg://rentgen:rentgen@127.0.0.1:{self.port}/rentgen"

    def __exit__(self, *exc: object) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        done = subprocess.run([*self.as_user, str(self.bin / tool), *args], capture_output=True, text=True)
        if check and done.returncode != 0:
            raise PeerUnavailable(f"PostgreSQL's {tool} failed: {done.stderr.strip() or done.stdout.strip()}")


def _setup_database(python: str, env: dict[str, str], workload: list[dict[str, Any]]) -> None:
    subprocess.run([python, "-m", "data_rentgen.db.migrations", "upgrade", "head"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    times = [datetime.fromisoformat(e["eventTime"]) for e in workload]
    start = min(times).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = max(times)
    end = datetime(last.year + last.month // 12, last.month % 12 + 1, 1, tzinfo=UTC)
    subprocess.run(
        [python, "-m", "data_rentgen.db.scripts.create_partitions", "--start", start.date().isoformat(),
         "--end", end.date().isoformat(), "--granularity", "month"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip


def _wait(
    consumer: subprocess.Popen[bytes], database: str, count: int, log: Path, timeout: float
) -> tuple[int, float, float]:
    """Until the consumer has received all ``count`` events and saved every batch it received:
    (events saved, CPU seconds of the consumer and of PostgreSQL since its first batch)."""
    del database
    deadline = time.monotonic() + timeout
    cpu_start: tuple[float, float] | None = None
    received = saved = 0
    while time.monotonic() < deadline:
        if consumer.poll() is not None:
            raise SystemExit(f"{PEER}'s consumer exited with code {consumer.returncode}; see {log}")
        text = _clean(log)
        if cpu_start is None and "Got " in text:
            cpu_start = (_cpu([consumer.pid]), _cpu(_postgres_pids()))
        sizes = [int(n) for n in re.findall(r"Got (\d+) messages", text)]
        received, saved_batches = sum(sizes), text.count("Saved successfully")
        if "[ERROR]" in text:
            raise SystemExit(f"{PEER} logged an error; see {log}")
        if received >= count and saved_batches >= len(sizes):
            saved = received
            break
        time.sleep(0.5)
    else:
        raise SystemExit(f"{PEER} received {received:,} of {count:,} events in {timeout:.0f} s; see {log}")
    start = cpu_start or (0.0, 0.0)
    return saved, _cpu([consumer.pid]) - start[0], _cpu(_postgres_pids()) - start[1]


def _times(log: Path) -> tuple[float | None, float | None, int]:
    """(time of the first batch, time of the last save, batches), from the consumer's log."""
    first = last = None
    batches = 0
    for line in _clean(log).splitlines():
        stamp = LOG_TIME.match(line)
        if stamp is None:
            continue
        at = datetime.strptime(stamp[1], "%Y-%m-%d %H:%M:%S.%f").timestamp()
        if "Got " in line and " messages" in line:
            batches += 1
            first = first if first is not None else at
        elif "Saved successfully" in line:
            last = at
    return first, last, batches


def _clean(log: Path) -> str:
    return ANSI.sub("", log.read_text(errors="replace"))


def _cpu(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def _postgres_pids() -> list[int]:
    """The private PostgreSQL server and its backends (one runs at a time)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith("postgres"):
            pids.append(int(entry.name))
    return pids


def main() -> None:
    parser = arguments(__doc__, topology=True)
    parser.add_argument("events", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-records", type=int, help="its CONSUMER__MAX_RECORDS (default: its own, no limit)")
    args = parser.parse_args()
    try:
        result = run(args.events, args.datasets, args.jobs, args.seed, max_records=args.max_records)
    except PeerUnavailable as exc:
        sys.exit(f"bench.peer: {exc}")
    report(result, args.json)


if __name__ == "__main__":
    main()
