"""Fault injection: kill a part of the running pipeline and check that the graph comes out whole.

Every case publishes the same workload (bench/workload.py) to topics of its own, runs processors
and a sink on an emptied graph, injects its fault once a random 20-55 % of the events are routed
(odd runs) or of the routed batches merged (even runs),
then waits until every consumer group's lag is zero and the graph has stopped changing, and
compares the graph's canonical export (every node and relationship with its properties) with
that of an undisturbed run of the same workload. The harness plays the supervisor: a component
that exits on its own is started again, and counted (a worker that restarts itself to recover is
a restart the case needed).

| case | fault |
| --- | --- |
| processor-kill | SIGKILL the processor; start it again on its kept RocksDB store, alone in its group |
| processor-kill-wiped | SIGKILL the processor; start it again on an empty store (rebuilt from the changelog) |
| processor-kill-behind | SIGKILL the processor; set its kept store back to replay half its changelog; start it |
| two-processors | two processors in one group; SIGKILL one; start it again |
| sink-kill | SIGKILL the sink; start it again |
| neo4j-kill | SIGKILL Neo4j; start it again (`lineage stack up`) |
| broker-kill | SIGKILL Kafka; 30 s later start it again |

A case fails when the graph differs, when lag is left, or when the pipeline stops making progress
for STALL seconds (a stall), and when a part needed a restart the case did not make (a worker
that restarts itself to recover). Recovery is the time from the end of the fault (the killed
part or server started again; for the broker, the time it was back) until every partition of the
disturbed stage (the processor's topics, or the sink's for the sink and Neo4j cases) that had
records waiting at the fault has committed past where it was. The processor cases run --runs
times each (a race that shows one time in three must not hide).

Needs Kafka and Neo4j started by `lineage stack up` in --stack-dir (the Kafka and Neo4j cases kill
and restart them): `bench/faults` (`make faults`) starts a stack of its own for this.
Run: .venv/bin/python -m bench.faults [--cases a,b] [--runs N] [--events N] [--json FILE]
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import neo4j

from bench.common import Pipeline, arguments, empty_graph, export, partition_progress, progress, report, stop
from bench.workload import Topology, events
from lineage.settings import Settings
from lineage_cli.environment import component_settings
from lineage_stack.stack import read_state
from producers.publisher import EventPublisher

# Where Faust's RocksDB store records the last changelog offset it holds (faust.stores.rocksdb).
STORE_OFFSET_KEY = b"__faust\0offset__"
STALL = 120.0  # seconds without progress that make a case a stall
REPLAYED = "Restoring state from changelog topics"  # Faust's log line (INFO) when a worker replays its changelog
POLL = 1.0
SETTLED = 5.0  # seconds the graph must stay unchanged at zero lag
PROCESSOR_CASES = ("processor-kill", "processor-kill-wiped", "processor-kill-behind", "two-processors")
CASES = (*PROCESSOR_CASES, "sink-kill", "neo4j-kill", "broker-kill")


@dataclass
class Component:
    """One ``lineage <name>`` process the harness supervises: started again when it exits."""

    name: str
    pipeline: Pipeline
    log: Path
    home: Path | None = None  # LINEAGE_HOME of its own (a processor's store), else the pipeline's
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0  # the times it exited on its own and was started again
    exits: list[int] = field(default_factory=list)

    def start(self) -> None:
        pipeline = self.pipeline
        if self.home is not None:
            pipeline = Pipeline(pipeline.settings, self.home, {**pipeline.env, "LINEAGE_HOME": str(self.home)})
        self.proc = pipeline.start(self.name, self.log)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def supervise(self) -> None:
        """Start it again if it exited on its own (as Compose's restart policy would)."""
        if self.proc is not None and self.proc.poll() is not None:
            self.exits.append(self.proc.returncode)
            self.restarts += 1
            self.start()

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@dataclass
class Result:
    case: str
    run: int
    identical: bool
    lag: int
    recovery_s: float | None
    restarts: int
    stalled: bool
    seconds: float
    # Whether a processor replayed its run-state changelog when it started again: the path on
    # which faust-streaming's recovery race (stream_processor.faust_fixes) can strike.
    replayed: bool = False
    differences: list[str] = field(default_factory=list)
    logs: str = ""

    @property
    def passed(self) -> bool:
        return self.identical and self.lag == 0 and not self.stalled and self.restarts == 0


class Harness:
    """What every case shares: the services, the workload, the undisturbed graph."""

    def __init__(self, base: Settings, stack_dir: Path, count: int, seed: int, log_level: str) -> None:
        self.base = base
        self.stack_dir = stack_dir
        self.workload = list(events(Topology(4000, 1500, seed), count, seed))
        self.count = len(self.workload)
        self.log_level = log_level
        self.driver = neo4j.GraphDatabase.driver(base.neo4j_uri, **base.neo4j_driver_options)
        self.baseline: set[str] | None = None
        self.rng = random.Random(seed)

    def close(self) -> None:
        self.driver.close()

    # --- one case ---------------------------------------------------------------------------

    def run(self, case: str, run: int = 1) -> Result:
        home = Path(tempfile.mkdtemp(prefix=f"faults-{case}-"))
        pipeline = Pipeline.fresh(self.base, home)
        pipeline.env["LINEAGE_LOG_LEVEL"] = self.log_level
        with EventPublisher(pipeline.settings.kafka_bootstrap, pipeline.settings.events_topic) as publisher:
            publisher.publish(self.workload)
        empty_graph(self.driver, self.base.neo4j_database)
        workers = 2 if case == "two-processors" else 1
        processors = [
            Component("process", pipeline, home / f"process-{i}.log", home / f"worker-{i}") for i in range(workers)
        ]
        sink = Component("sink", pipeline, home / "sink.log")
        parts = [*processors, sink]
        started = time.monotonic()
        for part in parts:
            part.start()
        fault = FAULTS.get(case)
        recovery: float | None = None
        try:
            if fault is not None:
                # Odd runs strike while the events are routed, even ones while the routed batches
                # are merged (the route runs far ahead of the merge: most kills on routed counts
                # alone came before any run state was written).
                share = self.rng.uniform(0.2, 0.55)
                if run % 2:
                    at = share * self.count
                    self._wait(pipeline, parts, lambda: self._routed(pipeline) >= at, f"{at:,.0f} events routed")
                else:
                    self._wait(
                        pipeline, parts, lambda: self._merged(pipeline) >= share, f"{share:.0%} of the batches merged"
                    )
                stage = "sink" if case in ("sink-kill", "neo4j-kill") else "processor"
                waiting = self._waiting(pipeline, stage)
                fault(self, processors, sink)
                recovery = self._recovery(pipeline, parts, stage, waiting, time.monotonic())
            stalled = not self._drain(pipeline, parts)
            lag = self._lag(pipeline)
            graph = self._export()
        finally:
            for part in parts:
                part.stop()
        if fault is None:
            self.baseline = graph
        differences = self._differences(graph)
        replayed = any(REPLAYED in _read(p.log) for p in processors)
        result = Result(
            case,
            run,
            replayed=replayed,
            identical=not differences,
            lag=lag,
            recovery_s=recovery,
            restarts=sum(p.restarts for p in parts),
            stalled=stalled,
            seconds=time.monotonic() - started,
            differences=differences,
        )
        if not result.passed:
            if self.baseline is not None:
                # Every differing row, for finding what was lost (the table shows the first few).
                (home / "differences.txt").write_text(
                    "".join(f"- {row}\n" for row in sorted(self.baseline - graph))
                    + "".join(f"+ {row}\n" for row in sorted(graph - self.baseline))
                )
            exits = ", ".join(f"{p.name} exited {p.exits}" for p in parts if p.exits)
            tails = "\n".join(f"--- {p.log.name}\n{_tail(p.log)}" for p in parts)
            result.logs = f"logs in {home}{'; ' + exits if exits else ''}\n{tails}"
        else:
            shutil.rmtree(home, ignore_errors=True)
        return result

    # --- waiting ----------------------------------------------------------------------------

    def _wait(self, pipeline: Pipeline, parts: list[Component], done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 600
        while not done():
            for part in parts:
                part.supervise()
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up waiting for {what}; logs in {pipeline.home}")
            time.sleep(POLL)

    def _recovery(
        self, pipeline: Pipeline, parts: list[Component], stage: str, waiting: dict[Any, int], back_at: float
    ) -> float | None:
        """Seconds from the end of the fault (the part or server started again) until every
        partition of the disturbed stage that had records waiting at the fault has committed past
        where it was (None: none had, or not all did within STALL)."""
        while waiting and time.monotonic() - back_at < STALL:
            for part in parts:
                part.supervise()
            now = self._partitions(pipeline, stage)
            if all(tp in now and now[tp][0] > committed for tp, committed in waiting.items()):
                return time.monotonic() - back_at
            time.sleep(POLL / 4)
        return None

    def _waiting(self, pipeline: Pipeline, stage: str) -> dict[Any, int]:
        """The stage's partitions with records waiting: (topic, partition) -> committed offset."""
        return {tp: done for tp, (done, end) in self._partitions(pipeline, stage).items() if end > done}

    def _partitions(self, pipeline: Pipeline, stage: str) -> dict[Any, tuple[int, int]]:
        s = pipeline.settings
        group, topics = (
            (s.sink_group, [s.graph_topic]) if stage == "sink" else (s.processor_group, [s.events_topic, s.runs_topic])
        )
        try:
            return partition_progress(s.kafka_bootstrap, group, topics)
        except Exception:  # noqa: BLE001  # the broker is down (a case killed it): nothing known
            return {}

    def _drain(self, pipeline: Pipeline, parts: list[Component]) -> bool:
        """Wait for zero lag everywhere and a graph that stopped changing; False on a stall."""
        last_lag, moved = self._lag(pipeline), time.monotonic()
        while True:
            for part in parts:
                part.supervise()
            lag = self._lag(pipeline)
            if lag < last_lag:
                last_lag, moved = lag, time.monotonic()
            if lag == 0 and self._settled():
                return True
            if time.monotonic() - moved > STALL:
                return False
            time.sleep(POLL)

    def _settled(self) -> bool:
        counts = self._counts()
        since = time.monotonic()
        while time.monotonic() - since < SETTLED:
            time.sleep(1)
            now = self._counts()
            if now != counts:
                return False
        return True

    # --- measuring --------------------------------------------------------------------------

    def _groups(self, pipeline: Pipeline) -> list[tuple[str, list[str]]]:
        s = pipeline.settings
        return [
            (s.processor_group, [s.events_topic]),
            (s.processor_group, [s.runs_topic]),
            (s.sink_group, [s.graph_topic]),
        ]

    def _lag(self, pipeline: Pipeline) -> int:
        total = 0
        for group, topics in self._groups(pipeline):
            done, end = _progress(pipeline.settings.kafka_bootstrap, group, topics)
            total += end - done if end >= 0 else 10**9
        return total

    def _routed(self, pipeline: Pipeline) -> int:
        s = pipeline.settings
        return _progress(s.kafka_bootstrap, s.processor_group, [s.events_topic])[0]

    def _merged(self, pipeline: Pipeline) -> float:
        """The share of the runs topic's messages merged, once every event is routed (else 0)."""
        if self._routed(pipeline) < self.count:
            return 0.0
        s = pipeline.settings
        done, end = _progress(s.kafka_bootstrap, s.processor_group, [s.runs_topic])
        return done / end if end > 0 else 0.0

    def _counts(self) -> tuple[int, int, int]:
        try:
            record = self.driver.execute_query(
                "CALL () { MATCH (n) RETURN count(n) AS nodes } "
                "CALL () { MATCH ()-[r]->() RETURN count(r) AS rels } "
                "CALL () { MATCH (r:Run) RETURN count(r.state) AS states } RETURN nodes, rels, states"
            ).records[0]
        except neo4j.exceptions.DriverError:
            return (-1, -1, -1)
        return record["nodes"], record["rels"], record["states"]

    def _export(self) -> set[str]:
        """Every node and relationship with its properties, as text (order and ids do not count)."""
        exported = export(self.driver)
        return {*exported["nodes"], *exported["rels"]}

    def _differences(self, graph: set[str]) -> list[str]:
        if self.baseline is None or graph == self.baseline:
            return []
        missing, extra = sorted(self.baseline - graph), sorted(graph - self.baseline)
        return [f"missing {len(missing):,}, extra {len(extra):,}", *(f"- {m[:300]}" for m in missing[:5])] + [
            f"+ {e[:300]}" for e in extra[:5]
        ]


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(_read(log).splitlines()[-lines:]) or "(no log)"


def _read(log: Path) -> str:
    try:
        return log.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _progress(bootstrap: str, group: str, topics: list[str]) -> tuple[int, int]:
    try:
        return progress(bootstrap, group, topics)
    except Exception:  # noqa: BLE001  # the broker is down (a case killed it): unknown, not zero
        return 0, -1


# --- the faults -----------------------------------------------------------------------------


def _kill_processor(harness: Harness, processors: list[Component], sink: Component) -> None:
    processors[0].kill()
    processors[0].start()


def _kill_processor_wipe_store(harness: Harness, processors: list[Component], sink: Component) -> None:
    processors[0].kill()
    assert processors[0].home is not None
    shutil.rmtree(processors[0].home / "processor", ignore_errors=True)
    processors[0].start()


def _kill_processor_store_behind(harness: Harness, processors: list[Component], sink: Component) -> None:
    """The kept store records having half the changelog records it has: the restarted worker
    replays the rest onto it (as when the kill came before the changelog's acknowledgements were
    recorded, which a plain kill hits only now and then)."""
    processors[0].kill()
    assert processors[0].home is not None
    import rocksdict  # Faust's store; only this case opens one

    for db_path in sorted((processors[0].home / "processor").glob("*/tables/*.db")):
        db = rocksdict.Rdict(str(db_path), options=rocksdict.Options(raw_mode=True))
        try:
            recorded = db.get(STORE_OFFSET_KEY)
            if recorded is not None:
                db[STORE_OFFSET_KEY] = str(int(recorded) // 2).encode()
        finally:
            db.close()
    processors[0].start()


def _kill_sink(harness: Harness, processors: list[Component], sink: Component) -> None:
    sink.kill()
    sink.start()


def _kill_server(name: str, down_for: float) -> Callable[[Harness, list[Component], Component], None]:
    def fault(harness: Harness, processors: list[Component], sink: Component) -> None:
        state = read_state(harness.stack_dir)
        pid = state.service(name).pid if state else None
        if pid is None:
            raise SystemExit(f"no {name} of a stack in {harness.stack_dir}: start one with bench/faults")
        os.kill(pid, signal.SIGKILL)
        time.sleep(down_for)
        subprocess.run(
            [sys.executable, "-m", "lineage_cli", "stack", "up", "--data-dir", str(harness.stack_dir)],
            check=True,
            capture_output=True,
        )

    return fault


FAULTS: dict[str, Callable[[Harness, list[Component], Component], None]] = {
    "processor-kill": _kill_processor,
    "processor-kill-wiped": _kill_processor_wipe_store,
    "processor-kill-behind": _kill_processor_store_behind,
    "two-processors": _kill_processor,
    "sink-kill": _kill_sink,
    "neo4j-kill": _kill_server("neo4j", 5),
    "broker-kill": _kill_server("kafka", 30),
}


# --- the suite ------------------------------------------------------------------------------


def suite(
    harness: Harness, cases: list[str], runs: int, on_result: Callable[[Result], None], other_runs: int = 1
) -> list[Result]:
    """The undisturbed run first (the graph the others must equal), then each case: the processor
    cases ``runs`` times, the others ``other_runs`` times."""
    baseline = harness.run("undisturbed")
    on_result(baseline)
    results = [baseline]
    for case in cases:
        for run in range(1, (runs if case in PROCESSOR_CASES else other_runs) + 1):
            result = harness.run(case, run)
            on_result(result)
            results.append(result)
    return results


def table(results: list[Result]) -> str:
    lines = [
        "| case | run | identical | lag left | recovery | restarts needed | stalled | changelog replayed | seconds |",
        "| --- | ---: | --- | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    for r in results:
        recovery = f"{r.recovery_s:.1f} s" if r.recovery_s is not None else "-"
        lines.append(
            f"| {r.case} | {r.run} | {'yes' if r.identical else 'NO'} | {r.lag:,} | {recovery} | {r.restarts} | "
            f"{'YES' if r.stalled else 'no'} | {'yes' if r.replayed else 'no'} | {r.seconds:.0f} |"
        )
    return "\n".join(lines)


@contextmanager
def _harness(args: Any) -> Iterator[Harness]:
    harness = Harness(component_settings(), args.stack_dir, args.events, args.seed, args.log_level)
    try:
        yield harness
    finally:
        harness.close()


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--runs", type=int, default=3, help="runs of each processor case (default 3)")
    parser.add_argument("--other-runs", type=int, default=1, help="runs of each other case (default 1)")
    parser.add_argument("--events", type=int, default=20_000, help="events in the workload (default 20000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stack-dir", type=Path, default=Path(".lineage/faults-stack"))
    parser.add_argument("--log-level", default="INFO", help="the components' LINEAGE_LOG_LEVEL (default INFO)")
    args = parser.parse_args()
    # Stopped by a signal, the harness still stops the components it started (its finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; the cases are {', '.join(CASES)}")

    def show(result: Result) -> None:
        verdict = "ok" if result.passed else "FAILED"
        recovery = f"{result.recovery_s:.1f} s" if result.recovery_s is not None else "-"
        print(
            f"{result.case} #{result.run}: {verdict}  identical={result.identical} lag={result.lag:,} "
            f"recovery={recovery} restarts={result.restarts} stalled={result.stalled} replayed={result.replayed} "
            f"({result.seconds:.0f} s)",
            flush=True,
        )
        for line in [*result.differences, result.logs.split("\n")[0]]:
            if line:
                print(f"    {line}", flush=True)

    with _harness(args) as harness:
        print(
            f"{harness.count:,} events; cases: {', '.join(cases)}; processor cases {args.runs} times, "
            f"the others {args.other_runs}",
            flush=True,
        )
        results = suite(harness, cases, args.runs, show, args.other_runs)
    print()
    print(table(results))
    report(
        {
            "events": harness.count,
            "results": [{k: v for k, v in vars(r).items() if k != "logs"} | {"passed": r.passed} for r in results],
        },
        args.json,
    )
    raise SystemExit(0 if all(r.passed for r in results) else 1)


if __name__ == "__main__":
    main()
