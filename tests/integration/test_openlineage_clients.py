"""The real openlineage-python client, through its Kafka transport and its HTTP transport against
`lineage ingest`, into Neo4j through the real processor and sink."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import neo4j
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import parent_run, schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport
from openlineage.client.transport.kafka import KafkaConfig, KafkaTransport

from lineage.settings import Settings
from lineage_stack.processes import free_port, wait_until
from producers.topics import ensure_topics
from stream_processor.app import all_topics
from tests.integration.components import logs, running, wait_for

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"
API_KEY = "team-data-key"


def emit_run(client: OpenLineageClient, job: str, parent_job: str | None = None) -> str:
    run_id = str(uuid.uuid4())
    facets = {}
    if parent_job:
        facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=str(uuid.uuid4())), job=parent_run.Job(namespace="airflow", name=parent_job)
        )
    schema = schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name="id", type="BIGINT")]
    )
    start = datetime.now(UTC)
    for state, when in ((RunState.START, start), (RunState.COMPLETE, start + timedelta(seconds=42))):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=when.isoformat(),
                run=Run(runId=run_id, facets=facets),
                job=Job(namespace="clients", name=job),
                inputs=[
                    InputDataset(namespace="postgres://db:5432", name="shop.public.orders", facets={"schema": schema})
                ],
                outputs=[OutputDataset(namespace="s3://lake", name=f"marts/{job}")],
                producer=PRODUCER,
            )
        )
    return run_id


def test_kafka_and_http_transports_reach_neo4j(settings: Settings, empty_graph: neo4j.Driver, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"ingest_port": free_port(), "ingest_api_keys": API_KEY})
    ensure_topics(settings.kafka_bootstrap, all_topics(settings), settings.topic_partitions)
    base = f"http://127.0.0.1:{settings.ingest_port}"
    with running(settings, "ingest", "process", "sink", log_dir=tmp_path / "logs") as procs:
        assert wait_until(lambda: _healthy(base), 60), logs(tmp_path / "logs")

        kafka_client = OpenLineageClient(
            transport=KafkaTransport(
                KafkaConfig(
                    config={"bootstrap.servers": settings.kafka_bootstrap}, topic=settings.events_topic, flush=True
                )
            )
        )
        via_kafka = emit_run(kafka_client, "via_kafka", parent_job="dag.task")
        kafka_client.close()

        http_client = OpenLineageClient(
            transport=HttpTransport(
                HttpConfig(url=base, endpoint="api/v1/lineage", auth=ApiKeyTokenProvider({"apiKey": API_KEY}))
            )
        )
        via_http = emit_run(http_client, "via_http")
        http_client.close()

        def both_completed() -> bool:
            records = empty_graph.execute_query(
                "MATCH (r:Run)-[:INSTANCE_OF]->(j:Job {namespace: 'clients'}) WHERE r.state = 'COMPLETED' "
                "AND EXISTS { (r)-[:WROTE]->(:Dataset) } RETURN r.runId AS id"
            ).records
            return {r["id"] for r in records} == {via_kafka, via_http}

        wait_for(both_completed, 120, "both runs COMPLETED in Neo4j", lambda: logs(tmp_path / "logs"), procs)

    rows = empty_graph.execute_query(
        """
        MATCH (r:Run)-[:INSTANCE_OF]->(j:Job {namespace: 'clients'})
        MATCH (r)-[:READ]->(i:Dataset)-[:HAS_FIELD]->(f:Field)
        MATCH (r)-[:WROTE]->(o:Dataset)
        RETURN j.name AS job, duration.inSeconds(r.startedAt, r.endedAt).seconds AS took,
               i.name AS input, f.field AS field, o.name AS output
        ORDER BY job
        """
    ).records
    assert [(r["job"], r["input"], r["field"], r["output"]) for r in rows] == [
        ("via_http", "shop.public.orders", "id", "marts/via_http"),
        ("via_kafka", "shop.public.orders", "id", "marts/via_kafka"),
    ]
    assert {r["took"] for r in rows} == {42}
    parents = empty_graph.execute_query(
        "MATCH (:Run {runId: $id})-[:CHILD_OF]->(p:Run), (:Job {name: 'via_kafka'})-[:PART_OF]->(pj:Job) "
        "RETURN pj.name AS parent_job",
        id=via_kafka,
    ).records
    assert [r["parent_job"] for r in parents] == ["dag.task"]


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/api/v1/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False
