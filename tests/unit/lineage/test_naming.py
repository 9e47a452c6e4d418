"""Dataset identity normalisation (lineage.naming) and the aliases facets make."""

from __future__ import annotations

import json

import pytest

from lineage.events import decode_event
from lineage.graph_mapping import dataset_event_mutations, run_mutations
from lineage.keys import DatasetKey
from lineage.merge import merge_event
from lineage.mutations import EdgeUpsert, NodeUpsert
from lineage.naming import normalize


@pytest.mark.parametrize(
    ("namespace", "name", "expected"),
    [
        ("POSTGRESQL://DB.Example.com", "shop.Public.Orders", ("postgres://db.example.com:5432", "shop.Public.Orders")),
        (
            "postgres://db.example.com:5432",
            "shop.Public.Orders",
            ("postgres://db.example.com:5432", "shop.Public.Orders"),
        ),
        ("mysql://db", "sales.orders", ("mysql://db:3306", "sales.orders")),
        ("kafka://broker-1", "events", ("kafka://broker-1:9092", "events")),
        ("s3a://my-bucket/", "/warehouse/orders/", ("s3://my-bucket", "warehouse/orders")),
        ("s3://my-bucket", "warehouse/orders", ("s3://my-bucket", "warehouse/orders")),
        ("gcs://Bucket", "a/b", ("gs://bucket", "a/b")),
        ("hdfs://NameNode:8020", "/user//hive/warehouse/t1/", ("hdfs://namenode:8020", "/user/hive/warehouse/t1")),
        ("file://", "/tmp/data/", ("file", "/tmp/data")),
        ("file", "/tmp/data", ("file", "/tmp/data")),
        (
            "abfss://Container@Account.dfs.core.windows.net",
            "/dir/f",
            ("abfss://Container@account.dfs.core.windows.net", "dir/f"),
        ),
        ("bigquery", "proj.dataset.Table", ("bigquery", "proj.dataset.Table")),
        ("arn:aws:glue:us-east-1:123", "table/db/t", ("arn:aws:glue:us-east-1:123", "table/db/t")),
        ("  snowflake://ORG-ACCOUNT  ", " DB.S.T ", ("snowflake://org-account", "DB.S.T")),
    ],
)
def test_normalize(namespace: str, name: str, expected: tuple[str, str]) -> None:
    assert normalize(namespace, name) == DatasetKey(*expected)


def test_normalize_is_idempotent() -> None:
    for namespace, name in [("POSTGRESQL://H", "d.s.t"), ("s3a://b/", "/k/"), ("file://", "/x//y/")]:
        once = normalize(namespace, name)
        assert normalize(once.namespace, once.name) == once


def test_different_datasets_stay_different() -> None:
    assert normalize("postgres://h:5433", "d.s.t") != normalize("postgres://h", "d.s.t")
    assert normalize("s3://b", "Key") != normalize("s3://b", "key")  # object keys are case-sensitive
    assert normalize("hdfs://h:8020", "/a") != normalize("file", "/a")


EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2026-11-20T10:00:00Z",
    "run": {"runId": "2d7e9a1c-3b1f-4f5e-8a6b-9c0d1e2f3a4b"},
    "job": {"namespace": "spark", "name": "etl"},
    "producer": "https://example.test/p",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
}


def edges(mutations: list[NodeUpsert | EdgeUpsert], rel: str) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    return {(m.start.sort_key(), m.end.sort_key()) for m in mutations if isinstance(m, EdgeUpsert) and m.type == rel}


def test_two_spellings_of_one_table_are_one_dataset() -> None:
    event = EVENT | {
        "inputs": [{"namespace": "postgresql://DB:5432", "name": "shop.public.orders"}],
        "outputs": [{"namespace": "postgres://db", "name": "shop.public.orders"}],
    }
    mutations = run_mutations(merge_event(None, decode_event(json.dumps(event))))  # type: ignore[arg-type]
    target = ("Dataset", "postgres://db:5432", "shop.public.orders")
    assert {end for _, end in edges(mutations, "READ")} == {target}
    assert {end for _, end in edges(mutations, "WROTE")} == {target}


def test_symlinks_make_the_path_an_alias_of_the_table() -> None:
    symlinks = {"identifiers": [{"namespace": "hive://metastore:9083", "name": "db.orders", "type": "TABLE"}]}
    event = EVENT | {
        "outputs": [{"namespace": "s3a://lake/", "name": "/warehouse/orders", "facets": {"symlinks": symlinks}}]
    }
    mutations = run_mutations(merge_event(None, decode_event(json.dumps(event))))  # type: ignore[arg-type]
    assert edges(mutations, "ALIAS_OF") == {
        (("Dataset", "s3://lake", "warehouse/orders"), ("Dataset", "hive://metastore:9083", "db.orders"))
    }
    assert {end for _, end in edges(mutations, "WROTE")} == {("Dataset", "s3://lake", "warehouse/orders")}


def test_a_rename_makes_the_old_name_an_alias_of_the_new() -> None:
    event = {
        "eventTime": "2026-11-20T10:00:00Z",
        "producer": "https://example.test/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {
            "namespace": "postgres://db:5432",
            "name": "shop.public.orders_v2",
            "facets": {
                "lifecycleStateChange": {
                    "lifecycleStateChange": "RENAME",
                    "previousIdentifier": {"namespace": "postgresql://DB", "name": "shop.public.orders"},
                }
            },
        },
    }
    mutations = dataset_event_mutations(decode_event(json.dumps(event)))  # type: ignore[arg-type]
    assert edges(mutations, "ALIAS_OF") == {
        (
            ("Dataset", "postgres://db:5432", "shop.public.orders"),
            ("Dataset", "postgres://db:5432", "shop.public.orders_v2"),
        )
    }


def test_a_symlink_to_itself_is_no_alias() -> None:
    symlinks = {"identifiers": [{"namespace": "S3://lake", "name": "/t", "type": "LOCATION"}]}
    event = EVENT | {"outputs": [{"namespace": "s3://lake", "name": "t", "facets": {"symlinks": symlinks}}]}
    mutations = run_mutations(merge_event(None, decode_event(json.dumps(event))))  # type: ignore[arg-type]
    assert edges(mutations, "ALIAS_OF") == set()
