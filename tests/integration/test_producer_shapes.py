"""What real producers send, through both doors (Kafka and HTTP), into Neo4j.

Every hand-written shape of tests/corpus.py and every event of the spec's real corpus, as sent and
without its schemaURL, goes in once through the events topic and once through ``lineage ingest``;
each must show in the graph with its run (state, the run id as sent), job, datasets, parent and
facets as sent. The broken ones must be refused with their reason: dead-lettered from Kafka,
answered 400 over HTTP.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import neo4j

from lineage.naming import normalize
from lineage.settings import Settings
from lineage_stack.processes import free_port
from producers.topics import ensure_topics
from stream_processor.app import all_topics
from tests.corpus import ACCEPTED, REFUSED, Case, as_case, expected, for_door
from tests.integration.components import logs, running, wait_for
from tests.integration.test_event_corpus import OPENLINEAGE, dead_letters, publish


def real_cases() -> list[Case]:
    """The spec's real events, as sent and without their schemaURL."""
    cases = []
    for path in sorted((OPENLINEAGE / "events" / "real").rglob("*.json")):
        data = json.loads(path.read_text())
        for i, event in enumerate(data if isinstance(data, list) else [data]):
            name = f"{path.relative_to(OPENLINEAGE / 'events' / 'real')}#{i}"
            cases.append(as_case(name, event))
            cases.append(as_case(f"{name}-no-schema-url", {k: v for k, v in event.items() if k != "schemaURL"}))
    return cases


def test_every_shape_lands_through_both_doors_and_the_broken_ones_are_refused(
    settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"ingest_port": free_port()})
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    taken = [*ACCEPTED, *real_cases()]
    assert len(taken) == len(ACCEPTED) + 20
    sent = {(door, case.name): for_door(case, door) for door in ("kafka", "http") for case in taken}
    log_dir = tmp_path / "logs"
    base = f"http://127.0.0.1:{settings.ingest_port}"

    with running(settings, "ingest", "process", "sink", log_dir=log_dir) as procs:
        publish(settings, {f"kafka/{c.name}": json.dumps(for_door(c, "kafka")).encode() for c in [*taken, *REFUSED]})
        with httpx.Client(base_url=base, timeout=30) as http:
            wait_for(lambda: _healthy(http), 60, "the ingest endpoint", lambda: logs(log_dir), procs)
            for case in taken:
                answer = http.post("/api/v1/lineage", json=sent[("http", case.name)])
                assert answer.status_code == 201, (case.name, answer.text)
            for case in REFUSED:
                answer = http.post("/api/v1/lineage", json=for_door(case, "http"))
                assert (answer.status_code, answer.json()["reason"]) == (400, case.refused), (case.name, answer.text)

        cases = {case.name: case for case in taken}
        wait_for(
            lambda: not _differences(empty_graph, sent, cases),
            180,
            "every event in the graph as sent",
            lambda: "\n".join(_differences(empty_graph, sent, cases)[:20]) + "\n" + logs(log_dir),
            procs,
        )
        letters = dead_letters(settings, len(REFUSED))

    assert {key: letter["reason"] for key, letter in letters.items()} == {
        f"kafka/{case.name}": case.refused for case in REFUSED
    }
    # The processor said what it took leniently: the first event of each kind, with its offset.
    (log,) = [p.read_text() for p in log_dir.glob("process-*.log")]
    logged = set(re.findall(r"accepted leniently kind=([a-z-]+) topic=\S+ partition=\d+ offset=\d+", log))
    assert logged == set().union(*(case.leniencies for case in ACCEPTED)) | {"no-schema-url", "naive-event-time"}


def _healthy(http: httpx.Client) -> bool:
    try:
        return http.get("/api/v1/health").status_code == 200
    except httpx.TransportError:
        return False


def _differences(
    driver: neo4j.Driver, sent: dict[tuple[str, str], dict[str, Any]], cases: dict[str, Case]
) -> list[str]:
    """How the graph differs from what each sent event must show there (empty: it matches)."""
    out = []
    for (door, name), event in sent.items():
        want = expected(cases[name], event)
        own_datasets = any(case.name == name for case in ACCEPTED)
        out += [f"{door}/{name}: {problem}" for problem in _check(driver, event, want, own_datasets)]
    return out


def _check(driver: neo4j.Driver, event: dict[str, Any], want: Any, own_datasets: bool) -> list[str]:
    if want.dataset is not None:
        (ns, name) = want.dataset
        found = driver.execute_query("MATCH (d:Dataset {namespace: $ns, name: $name}) RETURN d", ns=ns, name=name)
        if not found.records:
            return [f"no Dataset {ns}/{name}"]
        return _facets(found.records[0]["d"], event["dataset"].get("facets"), "dataset")
    job_ns, job_name = want.job
    if want.run_id is None:  # a JobEvent: the job's declared inputs and outputs
        found = driver.execute_query(
            "MATCH (j:Job {namespace: $ns, name: $name}) "
            "RETURN j, [(j)-[:CONSUMES]->(d) | [d.namespace, d.name]] AS reads, "
            "[(j)-[:PRODUCES]->(d) | [d.namespace, d.name]] AS writes",
            ns=job_ns,
            name=job_name,
        ).records
        if not found:
            return [f"no Job {job_ns}/{job_name}"]
        (job,) = found
        problems = _edges(job["reads"], want.reads, "CONSUMES") + _edges(job["writes"], want.writes, "PRODUCES")
        return problems + _facets(job["j"], event["job"].get("facets"), "job")
    found = driver.execute_query(
        "MATCH (r:Run {runId: $id}) OPTIONAL MATCH (r)-[:INSTANCE_OF]->(j:Job) "
        "RETURN r, j, [(r)-[:READ]->(d) | [d.namespace, d.name]] AS reads, "
        "[(r)-[:WROTE]->(d) | [d.namespace, d.name]] AS writes, [(r)-[:CHILD_OF]->(p) | p.runId] AS parents",
        id=want.run_id,
    ).records
    if not found or found[0]["j"] is None:
        return [f"no Run {want.run_id} of a Job"]
    (row,) = found
    run, job = row["r"], row["j"]
    problems = []
    if (job["namespace"], job["name"]) != want.job:
        problems.append(f"job {job['namespace']}/{job['name']}, not {want.job}")
    if run.get("state") != want.state:
        problems.append(f"state {run.get('state')}, not {want.state}")
    if run.get("sentRunId") != want.sent_run_id:
        problems.append(f"sentRunId {run.get('sentRunId')!r}, not {want.sent_run_id!r}")
    if row["parents"] != ([want.parent_run_id] if want.parent_run_id else []):
        problems.append(f"parents {row['parents']}, not {want.parent_run_id}")
    problems += _edges(row["reads"], want.reads, "READ") + _edges(row["writes"], want.writes, "WROTE")
    problems += _facets(run, event["run"].get("facets"), "run")
    problems += _facets(job, event["job"].get("facets"), "job")
    if own_datasets:
        problems += _dataset_facets(driver, event)
    return problems


def _dataset_facets(driver: neo4j.Driver, event: dict[str, Any]) -> list[str]:
    """Each dataset's facets as sent (for the corpus's cases, whose datasets no other case writes)."""
    problems = []
    for listed in (event.get("inputs") or [], event.get("outputs") or []):
        for ds in listed:
            if not ds.get("facets"):
                continue
            key = normalize(ds["namespace"], ds["name"])
            found = driver.execute_query(
                "MATCH (d:Dataset {namespace: $ns, name: $name}) RETURN d", ns=key.namespace, name=key.name
            ).records
            problems += _facets(found[0]["d"], ds["facets"], f"dataset {key}") if found else [f"no Dataset {key}"]
    return problems


def _edges(found: list[list[str]], want: list[tuple[str, str]], kind: str) -> list[str]:
    got = sorted(tuple(pair) for pair in found)
    return [] if got == sorted(want) else [f"{kind} {got}, not {sorted(want)}"]


def _facets(node: Any, facets: dict[str, Any] | None, where: str) -> list[str]:
    """Each facet is on the node as sent (JSON text of the same value), a string facet too."""
    problems = []
    for name, value in (facets or {}).items():
        if value is None or (isinstance(value, dict) and value.get("_deleted") is True):
            continue
        stored = node.get(f"facet_{name}")
        if stored is None or json.loads(stored) != value:
            problems.append(f"{where} facet {name}: {stored!r}, not {value!r}")
    return problems
